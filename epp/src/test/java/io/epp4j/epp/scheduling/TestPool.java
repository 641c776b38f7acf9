package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.plugins.PrometheusPluginMetrics;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;

/** Endpoints, requests, a loader and metrics reading for epp scheduling tests. */
public final class TestPool {

    public static final long NOW = 1_700_000_000_000L;
    public static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

    private TestPool() {
    }

    public static Endpoint endpoint(int i, int queue, double kv) {
        return new Endpoint(new EndpointInfo("pod-" + i + "-rank-0", "ns", "pod-" + i, "10.0.0." + i, 8000, Map.of()),
                new EndpointMetrics(queue, 0, kv, Set.of(), Set.of(), 0, 16, 10_000, Double.NaN, NOW), 0, 0);
    }

    public static InferenceRequest request(String id, String prompt, int priority, Map<String, String> headers) {
        return new InferenceRequest(id, ApiType.COMPLETIONS, "m", "m", ByteSlice.of(prompt), "", false, priority,
                "default-flow", headers, prompt.length());
    }

    public static ConfigLoader loader(PrometheusRegistry registry) {
        return new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(CLOCK, System::nanoTime, 42, new PrometheusPluginMetrics(registry)));
    }

    public static String scrape(PrometheusRegistry registry) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
