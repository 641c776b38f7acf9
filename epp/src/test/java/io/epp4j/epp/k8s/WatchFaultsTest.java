package io.epp4j.epp.k8s;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** API server restarts and expired watches: the last endpoints keep serving, then the informers catch up. */
class WatchFaultsTest {

    private MockApiServer api;
    private EndpointStore store;
    private KubernetesPoolSource source;
    private Thread reader;
    private final AtomicBoolean reading = new AtomicBoolean(true);
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong emptyReads = new AtomicLong();

    @BeforeEach
    void start() {
        api = new MockApiServer();
        store = new EndpointStore();
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
        api.createPod(api.pod("vllm-b", APP, true));
        source = KubernetesPoolSource.start(api.newClient(),
                PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1).withWatchCheckInterval(Duration.ofMillis(20)),
                store, new PrometheusRegistry(), Clock.systemUTC(), new Random(1));
        // the watch monitor polls: a restart counts only after it has seen the first watch up
        await("synced and watching", () -> store.synced() && store.size() == 2 && source.watching()
                && source.monitor().lastSeenWatching("pods"));
        // Plays the request path: reads snapshots the whole time and counts any moment without endpoints.
        reader = new Thread(() -> {
            while (reading.get()) {
                reads.incrementAndGet();
                if (store.snapshot().isEmpty() || !store.synced()) {
                    emptyReads.incrementAndGet();
                }
                Thread.onSpinWait();
            }
        }, "request-path");
        reader.start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        reading.set(false);
        reader.join();
        source.close();
        api.close();
    }

    private Set<String> names() {
        return store.endpoints().stream().map(EndpointInfo::name).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void apiServerRestartKeepsLastEndpointsServingThenRecovers() {
        api.stop();
        await("the watch loss is noticed", () -> !source.watching());
        // the monitor polls; it counts a restart only for a loss it has seen itself
        await("the monitor saw the loss", () -> !source.monitor().lastSeenWatching("pods"));
        long readsDuringOutage = reads.get();
        await("requests keep being served during the outage", () -> reads.get() > readsDuringOutage + 1000);
        assertEquals(Set.of("vllm-a-rank-0", "vllm-b-rank-0"), names(), "last known endpoints kept");
        assertTrue(store.synced());

        api.startAgain();
        await("watches re-established", Duration.ofSeconds(30), source::watching);
        await("restart counted", () -> source.monitor().restartCount("pods") >= 1);

        // Changes after the restart arrive as usual.
        api.deletePod("vllm-a");
        api.createPod(api.pod("vllm-c", APP, true));
        await("pods followed after restart", () -> names().equals(Set.of("vllm-b-rank-0", "vllm-c-rank-0")));
        assertEquals(0, emptyReads.get(), "the request path never saw an empty or unsynced pool");
    }

    @Test
    void expiredWatchRelistsAndPicksUpChangesTheWatchMissed() {
        // Every new watch is answered "410 Gone" for a while: only a relist can see changes.
        api.dispatcher.goneWatches.set(Integer.MAX_VALUE);
        api.stop();
        await("the watch loss is noticed", () -> !source.watching());
        api.startAgain();

        api.deletePod("vllm-a");
        api.createPod(api.pod("vllm-c", APP, true));
        await("relist picked up the changes", Duration.ofSeconds(30),
                () -> names().equals(Set.of("vllm-b-rank-0", "vllm-c-rank-0")));
        await("relist counted", () -> source.monitor().relistCount("pods") >= 1);

        api.dispatcher.goneWatches.set(0);
        await("watches back", Duration.ofSeconds(30), source::watching);
        api.replacePod(api.pod("vllm-b", APP, false));
        await("watch events flow again", () -> names().equals(Set.of("vllm-c-rank-0")));
        assertEquals(0, emptyReads.get(), "the request path never saw an empty or unsynced pool");
    }
}
