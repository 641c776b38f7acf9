package io.epp4j.epp.scrape;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScrapeConfigTest {

    @Test
    void defaultsMatchGaie() {
        ScrapeConfig c = ScrapeConfig.fromParameters(null, null, null);
        assertEquals("http", c.scheme());
        assertEquals("/metrics", c.path());
        assertTrue(c.insecureSkipVerify());
        assertEquals(Duration.ofMillis(50), c.interval());
        assertEquals(Duration.ofSeconds(1), c.timeout());
        assertEquals("inference.networking.k8s.io/engine-type", c.engineLabelKey());
        assertEquals("vllm", c.defaultEngine());
        assertEquals(List.of("vllm", "sglang", "trtllm-serve", "triton-tensorrt-llm"), List.copyOf(c.engines().keySet()));
        assertEquals(ScrapeConfig.defaults(), c);
    }

    @Test
    void readsDataSourceParameters() {
        ScrapeConfig c = ScrapeConfig.fromParameters(
                Map.of("scheme", "https", "path", "/stats", "insecureSkipVerify", false), Map.of(),
                Duration.ofMillis(100));
        assertEquals("https", c.scheme());
        assertEquals("/stats", c.path());
        assertFalse(c.insecureSkipVerify());
        assertEquals(Duration.ofMillis(100), c.interval());
    }

    @Test
    void userEngineWithBuiltInNameReplacesItWholesale() {
        ScrapeConfig c = ScrapeConfig.fromParameters(null, Map.of("engineConfigs", List.of(
                Map.of("name", "vllm", "queuedRequestsSpec", "my_queue", "kvUsageSpec", ""))), null);
        EngineConfig vllm = c.engines().get("vllm");
        assertEquals("my_queue", vllm.queuedRequestsSpec());
        assertEquals("", vllm.runningRequestsSpec());
        assertEquals("", vllm.loraSpec());
        assertEquals("vllm:prefix_cache_queries_total", vllm.prefixCacheQueriesSpec(),
                "epp4j-only keys are inherited from the built-in");
        assertEquals(4, c.engines().size());
    }

    @Test
    void userEngineCanBeTheDefault() {
        ScrapeConfig c = ScrapeConfig.fromParameters(null, Map.of("defaultEngine", "mine", "engineLabelKey", "eng",
                "engineConfigs", List.of(Map.of("name", "mine", "queuedRequestsSpec", "q{a=b}"))), null);
        assertEquals("mine", c.defaultEngine());
        assertEquals("mine", c.engineFor(Map.of()));
        assertEquals("sglang", c.engineFor(Map.of("eng", "sglang")));
        assertEquals("mine", c.engineFor(Map.of("eng", "unknown")));
    }

    @Test
    void rejectsBadParametersNamingThem() {
        assertMessage("unknown parameter \"schem\"", Map.of("schem", "http"), null);
        assertMessage("scheme must be http or https", Map.of("scheme", "ftp"), null);
        assertMessage("insecureSkipVerify must be true or false", Map.of("insecureSkipVerify", "yes"), null);
        assertMessage("unknown parameter \"engines\"", null, Map.of("engines", List.of()));
        assertMessage("defaultEngine \"nope\" not found", null, Map.of("defaultEngine", "nope"));
        assertMessage("cannot be \"default\"", null,
                Map.of("engineConfigs", List.of(Map.of("name", "default"))));
        assertMessage("name cannot be empty", null, Map.of("engineConfigs", List.of(Map.of("kvUsageSpec", "x"))));
        assertMessage("unknown parameter \"kvSpec\"", null,
                Map.of("engineConfigs", List.of(Map.of("name", "x", "kvSpec", "y"))));
        assertMessage("duplicate engine config", null,
                Map.of("engineConfigs", List.of(Map.of("name", "x"), Map.of("name", "x"))));
        assertMessage("kvUsageSpec: invalid metric selector", null,
                Map.of("engineConfigs", List.of(Map.of("name", "x", "kvUsageSpec", "m{a"))));
        assertMessage("engineConfigs must be a list", null, Map.of("engineConfigs", "vllm"));
        assertMessage("attributeKey and metricSpec are required", null, Map.of("engineConfigs", List.of(
                Map.of("name", "x", "customMetrics", List.of(Map.of("attributeKey", "a"))))));
        assertMessage("duplicate attributeKey", null, Map.of("engineConfigs", List.of(Map.of("name", "x",
                "customMetrics", List.of(Map.of("attributeKey", "a", "metricSpec", "m"),
                        Map.of("attributeKey", "a", "metricSpec", "n"))))));
        assertMessage("customMetrics[a]: invalid metric selector", null, Map.of("engineConfigs", List.of(
                Map.of("name", "x", "customMetrics", List.of(Map.of("attributeKey", "a", "metricSpec", "m{"))))));
        assertMessage("path must start with '/'", Map.of("path", "metrics"), null);
    }

    private static void assertMessage(String expected, Map<String, Object> ds, Map<String, Object> ex) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScrapeConfig.fromParameters(ds, ex, null));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
