package io.epp4j.scorers.llmd;

import io.epp4j.scorers.filter.UtilizationFilter;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UtilizationFilterTest {

    static UtilizationFilter filter(boolean fallback) {
        return new UtilizationFilter(null, new PluginParameters(Map.of(
                "conditions", List.of(
                        Map.of("metric", "running-requests", "maxValue", 40),
                        Map.of("metric", "waiting-queue", "maxValue", 0),
                        Map.of("metric", "kv-cache-utilization", "maxValue", 0.8),
                        Map.of("metric", "active-requests", "maxValue", 10)),
                "fallbackOnEmpty", fallback)));
    }

    @Test
    void routesAroundEveryEndpointOverAnyCapEvenWhenItsQueueIsShortest() {
        List<Endpoint> pool = List.of(
                endpoint(1, 0, 50, 0.1),                 // too many running
                endpoint(2, 3, 1, 0.1),                  // a queue
                endpoint(3, 0, 1, 0.95),                 // KV cache nearly full
                withLoad(endpoint(4, 0, 1, 0.1), 11, 0), // too many in flight from this EPP
                endpoint(5, 0, 39, 0.7));                // under every cap
        String picked = Routing.pick(new CycleState(), request("p"), pool, List.of(filter(false)),
                Map.of(new QueueScorer(null), 1.0));
        assertEquals("pod-5", picked);
    }

    @Test
    void keepsEveryoneWhenAllAreOverloadedOnlyWithFallbackOnEmpty() {
        List<Endpoint> pool = List.of(endpoint(1, 5, 0, 0), endpoint(2, 1, 0, 0));
        assertEquals(List.of(), filter(false).filter(new CycleState(), request("p"), pool));
        assertEquals(pool, filter(true).filter(new CycleState(), request("p"), pool));
    }

    @Test
    void unreportedMetricsCountAsZero() {
        List<Endpoint> pool = List.of(endpoint(1, -1, -1, Double.NaN));
        assertEquals(pool, filter(false).filter(new CycleState(), request("p"), pool));
    }

    @Test
    void rejectsConditionsLlmdRejects() {
        assertThrows(IllegalArgumentException.class, () -> new UtilizationFilter(null, PluginParameters.EMPTY));
        assertThrows(IllegalArgumentException.class, () -> new UtilizationFilter(null, new PluginParameters(Map.of(
                "conditions", List.of(Map.of("metric", "gpu-temperature", "maxValue", 1))))));
        assertThrows(IllegalArgumentException.class, () -> new UtilizationFilter(null, new PluginParameters(Map.of(
                "conditions", List.of(Map.of("metric", "kv-cache-utilization", "maxValue", 1.5))))));
        assertThrows(IllegalArgumentException.class, () -> new UtilizationFilter(null, new PluginParameters(Map.of(
                "conditions", List.of(Map.of("metric", "waiting-queue"))))));
    }
}
