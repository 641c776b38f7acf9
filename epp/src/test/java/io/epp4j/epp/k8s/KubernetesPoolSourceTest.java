package io.epp4j.epp.k8s;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Kubernetes source against fabric8's CRUD mock API server: pool, pods, ranks, resyncs, deletion. */
class KubernetesPoolSourceTest {

    @RegisterExtension
    final PoolSourceFixture k8s = new PoolSourceFixture();
    private final MockApiServer api = k8s.api;
    private final EndpointStore store = k8s.store;
    private KubernetesPoolSource source;

    private KubernetesPoolSource start(PoolOptions options) {
        source = k8s.start(options, 7);
        return source;
    }

    private Set<String> names() {
        return store.endpoints().stream().map(EndpointInfo::name).collect(Collectors.toCollection(TreeSet::new));
    }

    private Set<String> hostPorts() {
        return store.endpoints().stream().map(EndpointInfo::hostPort)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void poolCreatedAfterStartSyncsAndPublishesReadyPods() {
        api.createPod(api.pod("vllm-a", APP, true));
        api.createPod(api.pod("vllm-b", APP, false));
        api.createPod(api.pod("other", Map.of("app", "web"), true));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        assertFalse(store.synced(), "no pool yet: not synced");
        assertEquals(0, store.size());

        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));

        await("pool synced", store::synced);
        assertEquals(Set.of("vllm-a-rank-0"), names());
        EndpointInfo a = store.endpoints().get(0);
        assertEquals(api.ipOf("vllm-a"), a.ip());
        assertEquals(8000, a.port());
        assertEquals(NS, a.namespace());
        assertEquals("vllm-a", a.podName());
        assertEquals("vllm", a.labels().get("app"));
        assertTrue(source.ready(), "leader election off: ready once synced");
    }

    @Test
    void podsBecomingReadyUnreadyAndDeletedChangeEndpoints() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("pool synced", store::synced);
        assertEquals(0, store.size());

        api.createPod(api.pod("vllm-a", APP, false));
        api.createPod(api.pod("vllm-b", APP, true));
        await("b appears", () -> names().equals(Set.of("vllm-b-rank-0")));

        api.replacePod(api.pod("vllm-a", APP, true));
        await("a becomes ready", () -> names().equals(Set.of("vllm-a-rank-0", "vllm-b-rank-0")));

        api.replacePod(api.pod("vllm-b", APP, false));
        await("b turns unready", () -> names().equals(Set.of("vllm-a-rank-0")));

        api.deletePod("vllm-a");
        await("a deleted", () -> store.size() == 0);
        assertTrue(store.synced(), "an empty pool is still a synced pool");
    }

    @Test
    void podWhoseLabelsStopMatchingIsDropped() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("a present", () -> names().equals(Set.of("vllm-a-rank-0")));

        api.replacePod(api.pod("vllm-a", Map.of("app", "drained"), true));
        await("a dropped", () -> store.size() == 0);
    }

    @Test
    void multiPortPodsGetOneEndpointPerRankRestrictedByActivePorts() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000, 8001, 8002));
        api.createPod(api.pod("vllm-a", APP, true));
        Pod annotated = new PodBuilder(api.pod("vllm-b", APP, true)).editMetadata()
                .addToAnnotations(PodEndpoints.ACTIVE_PORTS_ANNOTATION, "8002, 8000,9999,x").endMetadata().build();
        api.createPod(annotated);
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));

        await("ranks published", () -> store.size() == 5);
        assertEquals(Set.of("vllm-a-rank-0", "vllm-a-rank-1", "vllm-a-rank-2", "vllm-b-rank-0", "vllm-b-rank-2"),
                names());
        String a = api.ipOf("vllm-a");
        String b = api.ipOf("vllm-b");
        assertEquals(Set.of(a + ":8000", a + ":8001", a + ":8002", b + ":8000", b + ":8002"), hostPorts());

        // The annotation changes at runtime: rank 1 comes up on b, rank 0 goes away.
        api.replacePod(new PodBuilder(annotated).editMetadata()
                .addToAnnotations(PodEndpoints.ACTIVE_PORTS_ANNOTATION, "8001,8002").endMetadata().build());
        await("b ranks follow the annotation", () -> names().equals(Set.of("vllm-a-rank-0", "vllm-a-rank-1",
                "vllm-a-rank-2", "vllm-b-rank-1", "vllm-b-rank-2")));
    }

    @Test
    void selectorChangeResyncsPods() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
        api.createPod(api.pod("vllm-next", Map.of("app", "vllm-next"), true));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("old selector", () -> names().equals(Set.of("vllm-a-rank-0")));

        api.update(POOL_V1, MockApiServer.poolV1("pool", Map.of("app", "vllm-next"), 8000));
        await("new selector", () -> names().equals(Set.of("vllm-next-rank-0")));

        // Pod events now follow the new selector.
        api.createPod(api.pod("vllm-next-2", Map.of("app", "vllm-next"), true));
        api.createPod(api.pod("vllm-b", APP, true));
        await("new pod under new selector", () -> names().equals(Set.of("vllm-next-rank-0",
                "vllm-next-2-rank-0")));
    }

    @Test
    void targetPortChangeRemovesOrphanedRanks() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000, 8001));
        api.createPod(api.pod("vllm-a", APP, true));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("two ranks", () -> store.size() == 2);

        api.update(POOL_V1, MockApiServer.poolV1("pool", APP, 9000));
        await("one rank on the new port", () -> hostPorts().equals(Set.of(api.ipOf("vllm-a") + ":9000")));
        assertEquals(Set.of("vllm-a-rank-0"), names());
    }

    @Test
    void poolDeletionClearsEverythingUntilItIsRecreated() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("synced", () -> store.synced() && store.size() == 1);

        api.delete(POOL_V1, "pool");
        await("cleared", () -> !store.synced() && store.size() == 0);
        assertFalse(source.ready());
        assertEquals(null, source.pool());

        // Pod changes while there is no pool publish nothing.
        api.createPod(api.pod("vllm-b", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("other-pool", APP, 8000));
        assertEquals(0, store.size());
        assertFalse(store.synced());

        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        await("back", () -> store.synced() && names().equals(Set.of("vllm-a-rank-0", "vllm-b-rank-0")));
        assertTrue(source.ready());
    }

    @Test
    void unusablePoolSpecIsTreatedAsNoPool() {
        api.createPod(api.pod("vllm-a", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1));
        await("synced", () -> store.synced() && store.size() == 1);

        api.update(POOL_V1, MockApiServer.poolV1("pool", APP)); // no target ports
        await("not synced", () -> !store.synced() && store.size() == 0);

        api.update(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        await("synced again", () -> store.synced() && store.size() == 1);
    }

    @Test
    void olderV1alpha2PoolIsReadWithPoolGroupX() {
        api.create(MockApiServer.POOL_V1ALPHA2, MockApiServer.poolV1alpha2("legacy", APP, 8080));
        api.createPod(api.pod("vllm-a", APP, true));
        start(PoolOptions.forPool("legacy", NS, PoolOptions.GROUP_X));

        await("synced", store::synced);
        assertEquals(Set.of(api.ipOf("vllm-a") + ":8080"), hostPorts());
        assertEquals(Set.of("vllm-a-rank-0"), names());
    }

    @Test
    void standaloneModeWatchesPodsBySelectorWithoutAnyCrd() {
        api.createPod(api.pod("vllm-a", Map.of("app", "vllm", "tier", "gpu"), true));
        api.createPod(api.pod("vllm-b", APP, true));
        start(PoolOptions.standalone(Map.of("app", "vllm", "tier", "gpu"), List.of(8000, 8001), NS,
                "my-epp-5d8f7c9b4-x2x7q"));

        await("synced", () -> store.synced() && store.size() == 2);
        assertEquals(Set.of("vllm-a-rank-0", "vllm-a-rank-1"), names());
        assertEquals("my-epp", source.pool().name());
        assertEquals(0, api.requestsMatching("inferencepools"), "standalone mode reads no pool");
        assertEquals(0, api.requestsMatching("/apis/" + PoolOptions.GROUP_X), "nor any optional CRD");
    }
}
