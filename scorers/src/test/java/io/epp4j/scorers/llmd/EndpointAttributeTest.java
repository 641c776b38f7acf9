package io.epp4j.scorers.llmd;

import io.epp4j.scorers.attribute.EndpointAttributeFilter;
import io.epp4j.scorers.attribute.EndpointAttributeScorer;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EndpointAttributeTest {

    static Endpoint pod(int i, int queue, Double depth) {
        Endpoint e = endpoint(i, queue, 0, 0);
        return new Endpoint(e.info(), e.metrics().withAttributes(
                depth == null ? Map.of() : Map.of("custom.queue_depth", depth)), 0, 0);
    }

    final List<Endpoint> pool = List.of(pod(1, 0, 40.0), pod(2, 6, 10.0), pod(3, 0, 25.0), pod(4, 0, null));

    static EndpointAttributeScorer scorer(String type, Map<String, Object> normalization) {
        return new EndpointAttributeScorer("queue-depth-attribute", new PluginParameters(Map.of(
                "attributeKey", "custom.queue_depth",
                "algorithm", Map.of("type", type, "normalization", normalization))));
    }

    @Test
    void lowerIsBetterRoutesToTheSmallestCustomMetricOverTheBuiltInQueue() {
        EndpointAttributeScorer s = scorer("linear_lower_is_better", Map.of());
        assertEquals("pod-2", Routing.pick(new CycleState(), request("p"), pool, List.of(),
                Map.of(s, 3.0, new QueueScorer(null), 1.0)));
        double[] scores = new double[4];
        s.score(new CycleState(), request("p"), pool, scores);
        assertArrayEquals(new double[] {0.0, 1.0, 0.5, 0.0}, scores, 1e-9, "missing attribute scores 0");
    }

    @Test
    void fixedRangeClampsAndHigherIsBetterInverts() {
        double[] scores = new double[4];
        scorer("linear_higher_is_better", Map.of("fixedRange", Map.of("min", 0, "max", 20)))
                .score(new CycleState(), request("p"), pool, scores);
        assertArrayEquals(new double[] {1.0, 0.5, 1.0, 0.0}, scores, 1e-9);
    }

    @Test
    void allEqualValuesAreNeutral() {
        double[] scores = new double[2];
        scorer("linear_lower_is_better", Map.of()).score(new CycleState(), request("p"),
                List.of(pod(1, 0, 3.0), pod(2, 0, 3.0)), scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    static EndpointAttributeFilter filter(String onMissing, boolean fallback, String op, double value) {
        return new EndpointAttributeFilter(null, new PluginParameters(Map.of(
                "attribute", "custom.queue_depth", "onMissing", onMissing, "fallbackOnEmpty", fallback,
                "algorithm", Map.of("type", "threshold", "threshold", Map.of("operator", op, "value", value)))));
    }

    @Test
    void thresholdFilterKeepsPassingEndpointsAndHonoursOnMissing() {
        CycleState s = new CycleState();
        assertEquals(List.of("pod-2", "pod-3", "pod-4"),
                Routing.pods(filter("Pass", false, "LessThan", 30).filter(s, request("p"), pool)));
        assertEquals(List.of("pod-2", "pod-3"),
                Routing.pods(filter("Fail", false, "LessThanOrEqual", 25).filter(s, request("p"), pool)));
        assertEquals(List.of("pod-1"),
                Routing.pods(filter("Fail", false, "GreaterThanOrEqual", 40).filter(s, request("p"), pool)));
        assertEquals(List.of(), filter("Fail", false, "Equal", 7).filter(s, request("p"), pool));
        assertEquals(pool, filter("Fail", true, "Equal", 7).filter(s, request("p"), pool));
    }

    @Test
    void rejectsWhatLlmdRejects() {
        assertThrows(IllegalArgumentException.class, () -> new EndpointAttributeScorer(null, new PluginParameters(
                Map.of("attributeKey", "a", "algorithm", Map.of("type", "log")))));
        assertThrows(IllegalArgumentException.class, () -> new EndpointAttributeScorer(null, new PluginParameters(
                Map.of("attributeKey", "queue/dcgm-extractor",
                        "algorithm", Map.of("type", "linear_lower_is_better")))));
        assertThrows(IllegalArgumentException.class, () -> scorer("linear_lower_is_better",
                Map.of("fixedRange", Map.of("min", 1, "max", 1))));
        assertThrows(IllegalArgumentException.class, () -> filter("Skip", false, "LessThan", 1));
        assertThrows(IllegalArgumentException.class, () -> filter("Pass", false, "Between", 1));
    }

    @Test
    void anotherProducerPublishesNothingSoTheFilterFollowsOnMissing() {
        EndpointAttributeFilter dcgm = new EndpointAttributeFilter(null, new PluginParameters(Map.of(
                "attribute", "custom.queue_depth", "producer", "dcgm-extractor", "onMissing", "Fail",
                "algorithm", Map.of("type", "threshold", "threshold", Map.of("operator", "LessThan", "value", 99)))));
        assertEquals(List.of(), dcgm.filter(new CycleState(), request("p"), pool));
    }
}
