package io.epp4j.epp.scrape;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolMetricsCollectorTest {

    private final EndpointStore store = new EndpointStore();
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final MetricsScraperTest.ManualClock clock = new MetricsScraperTest.ManualClock();

    private void endpoint(String name, int queue, int running, double kv, long scrapedAt) {
        store.upsert(new EndpointInfo(name, "ns", name, "10.0.0.1", 8000, Map.of()));
        store.updateMetrics(name, new EndpointMetrics(queue, running, kv, Set.of(), Set.of(), -1, -1, -1,
                Double.NaN, scrapedAt));
    }

    /** metric name (+ model_server_pod) → value, for the pool label "pool". */
    private Map<String, Double> gauges() {
        Map<String, Double> out = new HashMap<>();
        for (MetricSnapshot s : registry.scrape()) {
            for (GaugeSnapshot.GaugeDataPointSnapshot p : ((GaugeSnapshot) s).getDataPoints()) {
                assertEquals("pool", p.getLabels().get("name"));
                String pod = p.getLabels().contains("model_server_pod") ? "/" + p.getLabels().get("model_server_pod") : "";
                out.put(s.getMetadata().getName() + pod, p.getValue());
            }
        }
        return out;
    }

    @Test
    void averagesOverFreshEndpointsOnly() {
        long now = clock.millis();
        endpoint("a", 2, 4, 0.2, now - 100);
        endpoint("b", 4, 8, 0.6, now - 1_999);
        endpoint("stale", 100, 100, 1.0, now - 2_001);
        store.upsert(new EndpointInfo("never", "ns", "never", "10.0.0.9", 8000, Map.of()));
        try (PoolMetricsCollector c = new PoolMetricsCollector(store, registry, "pool", clock, Duration.ofSeconds(2))) {
            c.refresh();
            Map<String, Double> g = gauges();
            assertEquals(2.0, g.get("inference_pool_ready_pods"));
            assertEquals(0.4, g.get("inference_pool_average_kv_cache_utilization"), 1e-12);
            assertEquals(3.0, g.get("inference_pool_average_queue_size"));
            assertEquals(6.0, g.get("inference_pool_average_running_requests"));
            assertEquals(2.0, g.get("inference_pool_per_pod_queue_size/a"));
            assertEquals(100.0, g.get("inference_pool_per_pod_queue_size/stale"));
            assertTrue(!g.containsKey("inference_pool_per_pod_queue_size/never"));
        }
    }

    @Test
    void noFreshEndpointMeansZeroReadyPods() {
        endpoint("a", 2, 4, 0.2, clock.millis());
        try (PoolMetricsCollector c = new PoolMetricsCollector(store, registry, "pool", clock, Duration.ofSeconds(2))) {
            c.refresh();
            clock.millis.addAndGet(60_000);
            c.refresh();
            Map<String, Double> g = gauges();
            assertEquals(0.0, g.get("inference_pool_ready_pods"));
            assertEquals(2.0, g.get("inference_pool_average_queue_size"), "last average kept, like GAIE");
        }
        assertTrue(registry.scrape().size() == 0, "unregistered on close");
    }
}
