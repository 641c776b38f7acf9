package io.epp4j.bench.jmh;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.plugins.PrometheusPluginMetrics;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One full scheduling cycle (schedule → pre-request → complete) through {@link SchedulingEngine}, with GAIE's default
 * profile (queue 2, kv-cache 2, prefix 3, max-score picker, approx prefix producer) against a baseline profile of a
 * random picker alone, measured in the same run. Workload: {@code endpoints} endpoints with varied queue and KV
 * metrics; 32 distinct prompts of {@code promptBytes} bytes sharing a long system prefix, so the prefix index has
 * hits; the index is warmed before measuring. Also: hashing a 400 KB prompt into the block chain.
 *
 * <pre>
 * java -cp bench/target/classes:$(cat /tmp/bench.cp) org.openjdk.jmh.Main SchedulerBenchmark -f 1 -wi 2 -i 3 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SchedulerBenchmark {

    static final String RANDOM_ONLY = """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: random-picker
            """;

    @Param({"8", "64", "256", "1024"})
    public int endpoints;

    @Param({"1024", "102400"})
    public int promptBytes;

    @Param({"default", "random-picker-only"})
    public String profile;

    private SchedulingEngine engine;
    private List<Endpoint> pool;
    private InferenceRequest[] requests;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Clock clock = Clock.systemUTC();
        PrometheusRegistry registry = new PrometheusRegistry();
        ConfigLoader loader = new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(clock, System::nanoTime, 7, new PrometheusPluginMetrics(registry)));
        LoadedConfig config = profile.equals("default") ? loader.loadDefault() : loader.load(RANDOM_ONLY, "bench");
        engine = new SchedulingEngine(config, registry, clock, System::nanoTime, 256);
        Random random = new Random(1);
        long now = clock.millis();
        pool = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            pool.add(new Endpoint(new EndpointInfo("pod-" + i + "-rank-0", "bench", "pod-" + i,
                    "10.1." + (i / 250) + "." + (i % 250), 8000, Map.of("app", "vllm")),
                    new EndpointMetrics(random.nextInt(8), random.nextInt(16), random.nextDouble(), Set.of(),
                            Set.of(), 4, 16, 50_000, Double.NaN, now + 3_600_000), 0, 0));
        }
        pool = List.copyOf(pool);
        requests = new InferenceRequest[32];
        String system = "You are a careful assistant. Answer concisely and cite sources. ".repeat(
                Math.max(1, promptBytes / 2 / 64));
        for (int i = 0; i < requests.length; i++) {
            StringBuilder prompt = new StringBuilder(system);
            while (prompt.length() < promptBytes) {
                prompt.append("user ").append(i).append(" asks question ").append(random.nextInt()).append(". ");
            }
            prompt.setLength(promptBytes);
            requests[i] = request("r" + i, prompt.toString());
        }
        for (int i = 0; i < 4 * requests.length; i++) {
            cycle();
        }
    }

    static InferenceRequest request(String id, String prompt) {
        byte[] bytes = prompt.getBytes(StandardCharsets.UTF_8);
        return new InferenceRequest(id, ApiType.CHAT_COMPLETIONS, "llama", "llama", ByteSlice.of(bytes), "", false, 0,
                "default-flow", Map.of("content-type", "application/json"), bytes.length);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public SchedulingResult cycle() throws Exception {
        InferenceRequest r = requests[next++ & 31];
        ScheduledRequest scheduled = engine.schedule(r, pool);
        scheduled.preRequest();
        scheduled.onComplete(ResponseUsage.NONE, true);
        return scheduled.result();
    }

    /** Hashing alone, outside the engine: a 400 KB prompt, fully (no block limit) and as the default config does. */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public static class Hashing {

        private InferenceRequest prompt400k;

        @Setup
        public void setUp() {
            Random random = new Random(3);
            StringBuilder b = new StringBuilder();
            while (b.length() < 400 * 1024) {
                b.append("token").append(random.nextInt(50_000)).append(' ');
            }
            b.setLength(400 * 1024);
            prompt400k = request("h", b.toString());
        }

        @Benchmark
        public long[] hash400KbAllBlocks() {
            return ApproxPrefixCacheProducer.hashBlocks(prompt400k, 64, Integer.MAX_VALUE);
        }

        @Benchmark
        public long[] hash400KbDefaultMaxBlocks() {
            return ApproxPrefixCacheProducer.hashBlocks(prompt400k, 64, 256);
        }
    }
}
