package io.epp4j.epp.k8s;

import io.epp4j.epp.datastore.EndpointStore;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two replicas against one API server: GAIE's Lease, active-passive takeover, and active-active. */
class LeaderElectionTest {

    private static final String LEASE = "epp-" + NS + "-pool.gateway-api-inference-extension.sigs.k8s.io";

    private MockApiServer api;
    private final List<KubernetesPoolSource> sources = new ArrayList<>();

    @BeforeEach
    void startApi() {
        api = new MockApiServer();
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
    }

    @AfterEach
    void stopAll() {
        sources.forEach(KubernetesPoolSource::close);
        api.close();
    }

    private KubernetesPoolSource replica(String identity, PoolOptions.HaMode mode, EndpointStore store) {
        PoolOptions options = PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1)
                .withLeaderElection(true, mode)
                .withLeaseTimings(Duration.ofSeconds(2), Duration.ofMillis(1500), Duration.ofMillis(100))
                .withIdentity(identity);
        KubernetesPoolSource s = KubernetesPoolSource.start(api.newClient(), options, store,
                new PrometheusRegistry(), Clock.systemUTC(), new Random(1));
        sources.add(s);
        return s;
    }

    private String holder() {
        Lease lease = api.admin().leases().inNamespace(NS).withName(LEASE).get();
        return lease == null ? null : lease.getSpec().getHolderIdentity();
    }

    @Test
    void oneReplicaLeadsAndTheOtherTakesOverWhenItStops() {
        EndpointStore storeA = new EndpointStore();
        EndpointStore storeB = new EndpointStore();
        KubernetesPoolSource a = replica("epp-a", PoolOptions.HaMode.ACTIVE_PASSIVE, storeA);
        await("a leads", a::isLeader);
        KubernetesPoolSource b = replica("epp-b", PoolOptions.HaMode.ACTIVE_PASSIVE, storeB);

        // The standby keeps a warm copy but is not ready.
        await("b synced", () -> storeB.synced() && storeB.size() == 1);
        assertTrue(a.leadership().electionEnabled());
        assertTrue(a.ready());
        assertFalse(b.isLeader());
        assertFalse(b.ready(), "a standby never reports ready");
        assertEquals("epp-a", holder(), "the Lease is GAIE's, held by a");

        a.close(); // releases the Lease
        await("b takes over", Duration.ofSeconds(10), b::isLeader);
        assertTrue(b.ready());
        assertFalse(a.isLeader());
        assertEquals("epp-b", holder());
    }

    @Test
    void leaderThatCannotRenewStopsBeingReadyAndLeadsAgainAfterRecovery() {
        EndpointStore store = new EndpointStore();
        KubernetesPoolSource a = replica("epp-a", PoolOptions.HaMode.ACTIVE_PASSIVE, store);
        await("a leads", a::isLeader);

        api.stop();
        await("leadership lost after the renew deadline", Duration.ofSeconds(10), () -> !a.isLeader());
        assertFalse(a.ready());
        assertTrue(store.synced(), "endpoints are kept; only readiness drops");

        api.startAgain();
        await("a rejoins and leads again", Duration.ofSeconds(20), a::isLeader);
    }

    @Test
    void activeActiveReplicasAreAllReadyAndTakeNoLease() {
        EndpointStore storeA = new EndpointStore();
        EndpointStore storeB = new EndpointStore();
        KubernetesPoolSource a = replica("epp-a", PoolOptions.HaMode.ACTIVE_ACTIVE, storeA);
        KubernetesPoolSource b = replica("epp-b", PoolOptions.HaMode.ACTIVE_ACTIVE, storeB);
        await("both ready", () -> a.ready() && b.ready());
        assertTrue(a.leadership().electionEnabled(), "liveness/readiness services still answered");
        assertNull(holder(), "no Lease in active-active mode");
        assertEquals(storeA.endpoints(), storeB.endpoints());
    }
}
