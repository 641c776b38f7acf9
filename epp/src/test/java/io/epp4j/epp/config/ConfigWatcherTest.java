package io.epp4j.epp.config;

import io.epp4j.epp.scheduling.SchedulerFactory;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.epp.director.ScheduledRequest;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.epp4j.epp.scheduling.TestPool.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigWatcherTest {

    static final String QUEUE_ONLY = """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: queue-scorer
            """;

    @TempDir
    Path dir;
    final PrometheusRegistry registry = new PrometheusRegistry();
    final List<Endpoint> pool = List.of(endpoint(1, 0, 0.9), endpoint(2, 4, 0.0));

    Endpoint pick(SchedulingEngine engine, String id) throws Exception {
        InferenceRequest r = TestPool.request(id, "p", 0, Map.of());
        ScheduledRequest scheduled = engine.schedule(r, pool);
        scheduled.onComplete(ResponseUsage.NONE, true);
        return scheduled.result().primary();
    }

    @Test
    void validChangeIsServedWithoutRestartAndInvalidOneIsRejected() throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, QUEUE_ONLY);
        try (SchedulingEngine engine = SchedulerFactory.fromOptions(file.toString(), null, null, registry,
                TestPool.CLOCK, 1, Duration.ZERO)) {
            ConfigWatcher watcher = engine.configWatcher().orElseThrow();
            assertEquals(pool.get(0), pick(engine, "a"), "queue only: the empty queue wins");
            assertFalse(watcher.checkNow(), "unchanged file");

            Files.writeString(file, QUEUE_ONLY.replace("queue-scorer", "kv-cache-utilization-scorer"));
            assertTrue(watcher.checkNow());
            assertEquals(pool.get(1), pick(engine, "b"), "kv only: the empty cache wins");

            Files.writeString(file, QUEUE_ONLY + "- type: no-such-scorer\n");
            assertFalse(watcher.checkNow());
            assertEquals("kv-cache-utilization-scorer", engine.config().profiles().get(0).scorers().get(0).scorer()
                    .type(), "old config keeps serving");
            assertEquals(pool.get(1), pick(engine, "c"));

            String metrics = TestPool.scrape(registry);
            assertTrue(metrics.contains("epp4j_config_reload_total{result=\"success\"} 1"), metrics);
            assertTrue(metrics.contains("epp4j_config_reload_total{result=\"failure\"} 1"), metrics);
        }
    }

    @Test
    void backgroundWatcherPicksUpAChange() throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, QUEUE_ONLY);
        try (SchedulingEngine engine = SchedulerFactory.fromOptions(file.toString(), null, null, registry,
                TestPool.CLOCK, 1, Duration.ofMillis(20))) {
            Files.writeString(file, QUEUE_ONLY.replace("queue-scorer", "kv-cache-utilization-scorer"));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!engine.config().profiles().get(0).scorers().get(0).scorer().type()
                    .equals("kv-cache-utilization-scorer")) {
                assertTrue(System.nanoTime() < deadline, "reload within 20 s");
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
            }
        }
    }
}
