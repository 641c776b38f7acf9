package io.epp4j.epp.plugins;

import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ResponseUsage;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestAttributeReporterTest {

    static RequestAttributeReporter reporter(Map<String, Object> attribute) {
        return new RequestAttributeReporter("cost", new PluginParameters(Map.of("attributes", List.of(attribute))));
    }

    static Map<String, Map<String, Double>> report(RequestAttributeReporter r, ResponseUsage usage) {
        Map<String, Map<String, Double>> into = new LinkedHashMap<>();
        r.report(usage, into);
        return into;
    }

    @Test
    void reportsTheExpressionsValueUnderItsNamespaceAndName() {
        RequestAttributeReporter total = reporter(Map.of(
                "key", Map.of("name", "x-gateway-inference-request-cost"),
                "expression", "usage.prompt_tokens + usage.completion_tokens"));
        assertEquals(Map.of("envoy.lb", Map.of("x-gateway-inference-request-cost", 42.0)),
                report(total, new ResponseUsage(32, 10, -1, 42)));
        RequestAttributeReporter weighted = reporter(Map.of(
                "key", Map.of("namespace", "billing", "name", "units"),
                "expression", "usage.prompt_tokens * 0.5 + usage.completion_tokens * 2.0"));
        assertEquals(Map.of("billing", Map.of("units", 36.0)), report(weighted, new ResponseUsage(32, 10, -1, 42)),
                "16 + 20, truncated to an integer");
    }

    @Test
    void aFalseConditionAZeroValueOrAFailedEvaluationReportNothing() {
        RequestAttributeReporter cached = reporter(Map.of(
                "key", Map.of("name", "cached"),
                "expression", "usage.prompt_token_details.cached_tokens",
                "condition", "has(usage.prompt_token_details)"));
        assertEquals(Map.of("envoy.lb", Map.of("cached", 16.0)), report(cached, new ResponseUsage(32, 10, 16, 42)));
        assertEquals(Map.of(), report(cached, new ResponseUsage(32, 10, -1, 42)), "condition false");
        RequestAttributeReporter completion = reporter(Map.of("key", Map.of("name", "c"),
                "expression", "usage.completion_tokens"));
        assertEquals(Map.of(), report(completion, ResponseUsage.NONE), "no usage: 0, not reported");
        RequestAttributeReporter failing = reporter(Map.of("key", Map.of("name", "c"),
                "expression", "usage.prompt_token_details.cached_tokens"));
        assertEquals(Map.of(), report(failing, new ResponseUsage(1, 1, -1, 2)), "no such key: nothing");
        RequestAttributeReporter text = reporter(Map.of("key", Map.of("name", "c"), "expression", "'ten'"));
        assertEquals(Map.of(), report(text, new ResponseUsage(1, 1, -1, 2)), "not a number: nothing");
    }

    @Test
    void rejectsWhatLlmdRejectsNamingTheParameter() {
        Map<Object, String> bad = Map.of(
                List.of(), "'attributes' must contain exactly one entry",
                List.of(Map.of("key", Map.of("name", "a"), "expression", "1"),
                        Map.of("key", Map.of("name", "b"), "expression", "2")), "exactly one entry",
                List.of(Map.of("key", Map.of("namespace", "envoy.lb"), "expression", "1")),
                "'attributes[0].key.name' is required",
                List.of(Map.of("key", Map.of("name", "a"))), "'attributes[0].expression' is required",
                List.of(Map.of("key", Map.of("name", "a"), "expression", "usage.prompt_tokens +")),
                "'attributes[0].expression' is not a valid CEL expression",
                List.of(Map.of("key", Map.of("name", "a"), "expression", "1", "condition", "has(")),
                "'attributes[0].condition' is not a valid CEL expression",
                List.of(Map.of("key", Map.of("name", "a"), "expresion", "1")),
                "'attributes[0].expression' is required");
        bad.forEach((attributes, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                    new RequestAttributeReporter("r", new PluginParameters(Map.of("attributes", attributes))));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
    }
}
