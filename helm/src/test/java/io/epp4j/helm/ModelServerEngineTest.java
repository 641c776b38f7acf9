package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * inferencePool.modelServerType and modelServerProtocol. GAIE's chart passes metric-name flags for non-vLLM
 * engines that its own EPP rejects; here the engine reaches the EPP only through the plugin config.
 */
class ModelServerEngineTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "vllm,                ,         /metrics",
            "sglang,              sglang,   /metrics",
            "triton-tensorrt-llm, triton-tensorrt-llm, /metrics",
            "trtllm-serve,        trtllm-serve, /prometheus/metrics"})
    void engineGoesOnlyToTheCoreMetricsExtractor(String engine, String defaultEngine, String metricsPath) {
        Chart.Rendered rendered = Chart.release("pool", "llm").set("inferencePool.modelServerType", engine).render();

        List<String> args = DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs();
        assertTrue(args.stream().noneMatch(a -> a.contains("metric") || a.contains("sglang") || a.contains("trt")),
                args::toString);

        Map<String, Object> config = pluginConfig(rendered);
        Map<String, Object> extractor = plugin(config, "core-metrics-extractor");
        if (defaultEngine == null) {
            assertNull(extractor.get("parameters"));
        } else {
            assertEquals(Map.of("defaultEngine", defaultEngine), extractor.get("parameters"));
        }
        assertEquals(metricsPath, parameters(plugin(config, "metrics-data-source")).get("path"));
    }

    @Test
    void sglangLints() {
        var lint = Chart.release("pool", "llm").set("inferencePool.modelServerType", "sglang").lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void explicitMetricsPathWinsOverTheTrtllmServeDefault() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferencePool.modelServerType", "trtllm-serve")
                .set("inferenceExtension.metricsDataSource.path", "/custom")
                .set("inferenceExtension.metricsDataSource.scheme", "https")
                .set("inferenceExtension.metricsDataSource.insecureSkipVerify", false)
                .render();
        assertEquals(Map.of("scheme", "https", "path", "/custom", "insecureSkipVerify", false),
                parameters(plugin(pluginConfig(rendered), "metrics-data-source")));
    }

    @Test
    void vllmOverGrpcUsesH2cAndTheVllmGrpcParser() {
        Chart.Rendered rendered = Chart.release("pool", "llm").set("inferencePool.modelServerProtocol", "grpc").render();
        assertEquals("kubernetes.io/h2c", rendered.generic("InferencePool", "pool").get("spec", "appProtocol"));
        Map<String, Object> config = pluginConfig(rendered);
        assertEquals(Map.of("type", "vllmgrpc-parser"), plugin(config, "vllmgrpc-parser"));
        assertEquals(Map.of("pluginRef", "vllmgrpc-parser"), config.get("parser"));
    }

    @Test
    void explicitParserIsDeclaredAndReferenced() {
        Chart.Rendered rendered = Chart.release("pool", "llm").set("inferencePool.parser", "passthrough-parser").render();
        Map<String, Object> config = pluginConfig(rendered);
        assertEquals(Map.of("type", "passthrough-parser"), plugin(config, "passthrough-parser"));
        assertEquals(Map.of("pluginRef", "passthrough-parser"), config.get("parser"));
    }

    @Test
    void httpVllmDeclaresNoParserSoTheOpenAiDefaultApplies() {
        Map<String, Object> config = pluginConfig(Chart.release("pool", "llm").set("inferencePool.parser", "auto").render());
        assertNull(config.get("parser"));
    }

    static Map<String, Object> pluginConfig(Chart.Rendered rendered) {
        return Chart.yamlMap(rendered.get(ConfigMap.class, "pool-epp").getData().get("default-plugins.yaml"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> plugin(Map<String, Object> config, String type) {
        return ((List<Map<String, Object>>) config.get("plugins")).stream()
                .filter(p -> type.equals(p.get("type"))).findFirst()
                .orElseThrow(() -> new AssertionError("no plugin " + type + " in " + config));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parameters(Map<String, Object> plugin) {
        return (Map<String, Object>) plugin.get("parameters");
    }
}
