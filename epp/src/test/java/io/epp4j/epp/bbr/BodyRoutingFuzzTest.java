package io.epp4j.epp.bbr;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the body-based router's model scan and its CEL {@code json()} map: any bytes give headers or none,
 * or a JSON map or IllegalArgumentException, never another exception. Without {@code JAZZER_FUZZ=1} it replays the committed seeds (part of {@code mvn verify}).
 */
class BodyRoutingFuzzTest {

    private static final BbrMetrics METRICS = new BbrMetrics(new PrometheusRegistry());
    private static final BodyRouting MAPPED = new BodyRouting(List.of(
            new BodyFieldToHeader("model", BodyFieldToHeader.MODEL_HEADER),
            new BaseModelToHeader(BaseModelToHeader.BASE_MODEL_HEADER, r -> "base")), METRICS);

    @FuzzTest(maxDuration = "60s")
    void anyBodyRoutesWithoutThrowing(byte[] body) {
        Map<String, String> set = MAPPED.route(Map.of(), body, body.length);
        assertTrue(MAPPED.headerNames().containsAll(set.keySet()));
        MAPPED.route(Map.of(), body, body.length / 2); // a truncated body too
    }

    @FuzzTest(maxDuration = "60s")
    void anyBodyReadsAsACelMapOrFailsWithIllegalArgument(byte[] body) {
        LazyJsonObject json = new LazyJsonObject(body, body.length, "null", java.util.Map.of());
        try {
            Object model = json.get("model");
            assertTrue(model == null || json.containsKey("model"));
            assertTrue(json.size() >= 0);
        } catch (IllegalArgumentException notJson) {
            // the CEL evaluation error a body that is not one JSON object gives
        }
    }
}
