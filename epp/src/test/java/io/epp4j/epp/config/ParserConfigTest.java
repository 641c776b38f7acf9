package io.epp4j.epp.config;

import io.epp4j.epp.request.RequestParsers;
import io.epp4j.epp.scheduling.TestPool;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which parsers a config sets up: llm-d's {@code requestHandler.parsers}, GAIE's {@code parser}, each default. */
class ParserConfigTest {

    private final ConfigLoader loader = TestPool.loader(new PrometheusRegistry());

    private LoadedConfig load(String apiVersion, String plugins, String tail) throws ConfigException {
        return loader.load("apiVersion: " + apiVersion + "\nkind: EndpointPickerConfig\nplugins:\n"
                + "- type: queue-scorer\n" + plugins + tail, "test");
    }

    private static String resolved(LoadedConfig c, String path) {
        RequestParsers.Entry e = c.parsers().resolve(Map.of(":path", path));
        return e == null ? null : e.name();
    }

    @Test
    void requestHandlerParsersAreUsedInOrderWithTheLongestSuffixWinning() throws ConfigException {
        LoadedConfig c = load("llm-d.ai/v1alpha1", """
                - name: vllmhttpParser
                  type: vllmhttp-parser
                - name: sglang
                  type: sglanghttp-parser
                - name: openaiParser
                  type: openai-parser
                """, """
                requestHandler:
                  parsers:
                  - pluginRef: vllmhttpParser
                  - pluginRef: sglang
                  - pluginRef: openaiParser
                """);
        assertEquals(List.of("vllmhttp-parser", "sglanghttp-parser", "openai-parser"),
                ConfigLoaderTest.parserTypes(c));
        assertEquals("vllmhttpParser", resolved(c, "/inference/v1/generate"), "longer than sglang's 'generate'");
        assertEquals("sglang", resolved(c, "/generate"));
        assertEquals("openaiParser", resolved(c, "/v1/chat/completions?x=1"));
        assertNull(resolved(c, "/v1/messages"), "an explicit list gains no fallback");
    }

    @Test
    void theListStopsAtTheFirstFallbackAndSkipsRepeatedTypes() throws ConfigException {
        LoadedConfig c = load("llm-d.ai/v1alpha1", """
                - name: a
                  type: openai-parser
                - name: b
                  type: openai-parser
                - type: passthrough-parser
                - type: anthropic-parser
                """, """
                requestHandler:
                  parsers: [{pluginRef: a}, {pluginRef: b}, {pluginRef: passthrough-parser}, {pluginRef: anthropic-parser}]
                """);
        assertEquals(List.of("openai-parser", "passthrough-parser"), ConfigLoaderTest.parserTypes(c));
        assertEquals("passthrough-parser", resolved(c, "/v1/messages"), "anthropic came after the fallback");
    }

    @Test
    void eachDialectHasItsDefault() throws ConfigException {
        LoadedConfig llmd = load("llm-d.ai/v1alpha1", "", "");
        assertEquals(RequestParsers.LLM_D_DEFAULT, ConfigLoaderTest.parserTypes(llmd));
        assertEquals("passthrough-parser", resolved(llmd, "/v1/audio/speech"));
        LoadedConfig gaie = load("inference.networking.x-k8s.io/v1alpha1", "", "");
        assertEquals(List.of("openai-parser"), ConfigLoaderTest.parserTypes(gaie));
        assertEquals("openai-parser", resolved(gaie, "/v1/audio/speech"), "GAIE's parser reads every path");
    }

    @Test
    void theTopLevelParserReadsEveryPathUnderGaieAndIsAListOfOneUnderLlmd() throws ConfigException {
        String plugin = "- type: vllmgrpc-parser\n";
        String parser = "parser:\n  pluginRef: vllmgrpc-parser\n";
        LoadedConfig gaie = load("inference.networking.x-k8s.io/v1alpha1", plugin, parser);
        assertEquals("vllmgrpc-parser", resolved(gaie, "/vllm.grpc.engine.VllmEngine/HealthCheck"));
        LoadedConfig llmd = load("llm-d.ai/v1alpha1", plugin, parser);
        assertEquals("vllmgrpc-parser", resolved(llmd, "/vllm.grpc.engine.VllmEngine/Generate"));
        assertNull(resolved(llmd, "/vllm.grpc.engine.VllmEngine/HealthCheck"));
    }

    @Test
    void referencesMustNameADeclaredParser() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("llm-d.ai/v1alpha1", "",
                "requestHandler:\n  parsers:\n  - pluginRef: nope\n"));
        assertTrue(e.getMessage().contains("requestHandler.parsers[0].pluginRef: no plugin named 'nope'"),
                e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("llm-d.ai/v1alpha1", "",
                "requestHandler:\n  parsers:\n  - pluginRef: queue-scorer\n"));
        assertTrue(e.getMessage().contains("plugin 'queue-scorer' is not a parser"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("llm-d.ai/v1alpha1", "",
                "requestHandler:\n  parser: []\n"));
        assertTrue(e.getMessage().contains("requestHandler"), e.getMessage());
    }
}
