package io.epp4j.epp.precise;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoaderTestAccess;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.scorers.prefix.PrefixCacheScorer;
import io.epp4j.spi.Plugin;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llm-d's sample configurations for precise prefix routing, and the bench profiles, load beside the others. */
class PreciseConfigTest {

    private static LoadedConfig load(String yaml) throws ConfigException {
        return TestPool.loader(new PrometheusRegistry()).load(yaml, "test");
    }

    private static void close(LoadedConfig c) throws Exception {
        for (Plugin p : c.plugins().values()) {
            if (p instanceof AutoCloseable a) {
                a.close();
            }
        }
    }

    @Test
    void llmdCurrentChainLoads() throws Exception {
        LoadedConfig c = load(ConfigLoaderTestAccess.resource("llm-d-precise-prefix-cache.yaml"));
        try {
            PrecisePrefixCacheProducer producer = assertInstanceOf(PrecisePrefixCacheProducer.class,
                    c.plugins().get("precise-prefix-cache-producer"));
            assertEquals(64, producer.index().blockSizeTokens());
            assertInstanceOf(TokenProducer.class, c.plugins().get("token-producer"));
            assertInstanceOf(PrefixCacheScorer.class, c.plugins().get("prefix-cache-scorer"));
            assertEquals(3, c.profiles().get(0).scorers().size());
            assertTrue(c.plugins().keySet().stream().noneMatch(n -> n.startsWith("approx-prefix-cache-producer")),
                    "a scorer reading the precise producer needs no implicit approximate producer");
        } finally {
            close(c);
        }
    }

    @Test
    void llmdOlderWrapperLoads() throws Exception {
        LoadedConfig c = load(ConfigLoaderTestAccess.resource("llm-d-precise-prefix-cache-scorer.yaml"));
        try {
            PrecisePrefixCacheScorer scorer = assertInstanceOf(PrecisePrefixCacheScorer.class,
                    c.plugins().get("precise-prefix-cache-scorer"));
            assertEquals(64, scorer.producer().index().blockSizeTokens());
            assertEquals(2.0, c.profiles().get(0).scorers().get(0).weight());
        } finally {
            close(c);
        }
    }

    @Test
    void benchProfilesLoad() throws Exception {
        for (String name : List.of("precise.yaml", "precise-no-fallback.yaml", "precise-backlog.yaml",
                "precise-llm-d-sample.yaml")) {
            Path file = Path.of("..", "bench", "configs", name);
            LoadedConfig c = load(Files.readString(file));
            close(c);
        }
    }

    @Test
    void unsupportedBackendsAreRejectedNamingTheParameter() {
        String yaml = """
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: precise-prefix-cache-producer
                  parameters:
                    indexerConfig:
                      kvBlockIndexConfig:
                        redisConfig: {address: "redis://127.0.0.1:6379"}
                """;
        ConfigException e = assertThrows(ConfigException.class, () -> load(yaml));
        assertTrue(e.getMessage().contains("redisConfig"), e.getMessage());
    }
}
