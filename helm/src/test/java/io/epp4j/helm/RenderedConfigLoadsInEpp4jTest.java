package io.epp4j.helm;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.plugins.PrometheusPluginMetrics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every plugin config the chart can render is accepted by epp4j's strict config loader (the one behind
 * {@code --config-file}) and means what the values said: engine, scrape path, parser, GAIE's weights.
 */
class RenderedConfigLoadsInEpp4jTest {

    @ParameterizedTest(name = "{0} over {1}, parser \"{2}\"")
    @CsvSource({
            "vllm,                http, '',                 openai-parser,      ,                    /metrics",
            "vllm,                grpc, '',                 vllmgrpc-parser,    ,                    /metrics",
            "sglang,              http, '',                 openai-parser,      sglang,              /metrics",
            "triton-tensorrt-llm, http, '',                 openai-parser,      triton-tensorrt-llm, /metrics",
            "trtllm-serve,        http, '',                 openai-parser,      trtllm-serve,        /prometheus/metrics",
            "vllm,                http, passthrough-parser, passthrough-parser, ,                    /metrics"})
    void renderedDefaultConfigLoads(String engine, String protocol, String parser, String loadedParser,
                                    String defaultEngine, String metricsPath) throws Exception {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferencePool.modelServerType", engine)
                .set("inferencePool.modelServerProtocol", protocol)
                .set("inferencePool.parser", parser)
                .render();
        LoadedConfig config = load(rendered, "default-plugins.yaml");

        assertEquals(1, config.profiles().size());
        LoadedConfig.Profile profile = config.profiles().get(0);
        assertEquals("default", profile.name());
        assertEquals(Map.of("queue-scorer", 2.0, "kv-cache-utilization-scorer", 2.0, "prefix-cache-scorer", 3.0),
                weights(profile));
        assertEquals(loadedParser, config.parsers().entries().get(0).type());
        assertEquals(metricsPath, config.dataSourceParameters().get("path"));
        assertEquals("http", config.dataSourceParameters().get("scheme"));
        assertEquals(true, config.dataSourceParameters().get("insecureSkipVerify"));
        assertEquals(defaultEngine, config.extractorParameters().get("defaultEngine"));
    }

    @Test
    void customConfigFromValuesLoads() throws Exception {
        Chart.Rendered rendered = Chart.bare("pool", "llm").values(CustomPluginsConfigTest.CUSTOM_VALUES).render();
        LoadedConfig config = load(rendered, "queue-only.yaml");
        assertEquals(Map.of("queue-scorer", 1.0), weights(config.profiles().get(0)));
        assertEquals("max-score-picker", config.profiles().get(0).picker().type());
    }

    private static LoadedConfig load(Chart.Rendered rendered, String file) throws Exception {
        String yaml = rendered.get(ConfigMap.class, "pool-epp").getData().get(file);
        PluginEnvironment environment = new PluginEnvironment(Clock.systemUTC(), System::nanoTime, 1L,
                new PrometheusPluginMetrics(new PrometheusRegistry()));
        return new ConfigLoader(PluginRegistry.standard(), environment).load(yaml, file);
    }

    private static Map<String, Double> weights(LoadedConfig.Profile profile) {
        Map<String, Double> weights = new java.util.HashMap<>();
        for (LoadedConfig.WeightedScorer scorer : profile.scorers()) {
            weights.put(scorer.scorer().type(), scorer.weight());
        }
        return weights;
    }

}
