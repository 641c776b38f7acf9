package io.epp4j.scorers;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.LongSupplier;

/** Endpoints, requests and a plugin context for plugin tests. */
public final class Fixtures {

    public static final long NOW = 1_700_000_000_000L;
    public static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

    private Fixtures() {
    }

    public static Endpoint endpoint(int i, int queue, int running, double kv) {
        return endpoint(i, new EndpointMetrics(queue, running, kv, Set.of(), Set.of(), 4, 16, 1000, Double.NaN, NOW));
    }

    public static Endpoint endpoint(int i, EndpointMetrics metrics) {
        return new Endpoint(info(i, Map.of()), metrics, 0, 0);
    }

    public static EndpointInfo info(int i, Map<String, String> labels) {
        return new EndpointInfo("pod-" + i + "-rank-0", "ns", "pod-" + i, "10.0.0." + i, 8000, labels);
    }

    public static Endpoint withLoad(Endpoint e, int inFlightRequests, long inFlightTokens) {
        return new Endpoint(e.info(), e.metrics(), inFlightRequests, inFlightTokens);
    }

    public static InferenceRequest request(String prompt) {
        return request("m", prompt, Map.of());
    }

    public static InferenceRequest request(String model, String prompt, Map<String, String> headers) {
        return new InferenceRequest("req-1", ApiType.COMPLETIONS, model, model, ByteSlice.of(prompt), "", false, 0,
                "default-flow", headers, prompt.length());
    }

    public static PluginContext context() {
        return new PluginContext() {
            @Override
            public Clock clock() {
                return CLOCK;
            }

            @Override
            public LongSupplier nanoTicker() {
                return System::nanoTime;
            }

            @Override
            public Random random(String pluginName) {
                return new Random(42);
            }

            @Override
            public <T> Optional<T> plugin(String name, Class<T> type) {
                return Optional.empty();
            }

            @Override
            public PluginMetrics metrics() {
                return PluginMetrics.NONE;
            }
        };
    }
}
