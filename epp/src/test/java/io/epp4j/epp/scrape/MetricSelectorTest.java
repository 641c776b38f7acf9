package io.epp4j.epp.scrape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MetricSelectorTest {

    @Test
    void parsesNameOnly() {
        assertEquals(new MetricSelector("vllm:num_requests_waiting", Map.of(), List.of()),
                MetricSelector.parse(" vllm:num_requests_waiting "));
    }

    @Test
    void parsesQuotedAndUnquotedValues() {
        MetricSelector s = MetricSelector.parse("nv_trt_llm_request_metrics{request_type=waiting, model=\"a\\\"b\"}");
        assertEquals("nv_trt_llm_request_metrics", s.name());
        assertEquals(Map.of("request_type", "waiting", "model", "a\"b"), s.matchers());
    }

    @Test
    void acceptsNameAsMatcher() {
        assertEquals("m", MetricSelector.parse("{__name__=\"m\", a=\"1\"}").name());
    }

    @Test
    void dropsNonEqualityMatchersLikeGaie() {
        MetricSelector s = MetricSelector.parse("m{a!=\"1\",b=~\"x.*\",c=\"2\"}");
        assertEquals(Map.of("c", "2"), s.matchers());
        assertEquals(List.of("a!=1", "b=~x.*"), s.droppedMatchers());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{}", "m{", "m{a}", "m{a=\"x}", "m{a=\"x\" b=\"y\"}", "m x", "m{1=\"x\"}",
            "m{}x"})
    void rejectsInvalidSelectorsWithAClearMessage(String spec) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MetricSelector.parse(spec));
        assertEquals(true, e.getMessage().startsWith("invalid metric selector") || e.getMessage().contains("name"),
                e.getMessage());
    }
}
