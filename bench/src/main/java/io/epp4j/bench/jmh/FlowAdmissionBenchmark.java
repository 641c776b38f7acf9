package io.epp4j.bench.jmh;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.flowcontrol.FlowControlMetrics;
import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.epp.flowcontrol.FlowRequest;
import io.epp4j.epp.flowcontrol.Outcome;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.PluginMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What flow control adds to one request while the pool is not saturated, alone: the director's flow-control step
 * ({@link FlowController#enqueue} with {@link FlowControlBenchmark}'s configuration, its {@code concurrency-detector}
 * with room to spare, GAIE's flow-control metrics recorded, then {@code settled()} once the request is scheduled)
 * against what the director does with the {@code flowControl} gate off ({@link FlowController#enabled}, the
 * baseline), in the same run. Requests carry one of 64 fairness ids, as in {@link FlowControlBenchmark}, whose whole
 * exchange (~50 µs) is too noisy on a shared machine to show a difference of a few microseconds.
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main FlowAdmissionBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(2)
public class FlowAdmissionBenchmark {

    @Param({"off", "on"})
    public String flowControl;

    private FlowController flow;
    private FlowRequest[] requests;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        String text = String.format(FlowControlBenchmark.CONFIG,
                flowControl.equals("on") ? "featureGates: [\"flowControl\"]" : "");
        ConfigLoader loader = new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(Clock.systemUTC(), System::nanoTime, 42, PluginMetrics.NONE));
        var config = loader.load(text, "benchmark").flowControlConfig();
        List<Endpoint> pool = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            pool.add(new Endpoint(new EndpointInfo("pod-" + i, "default", "pod-" + i, "10.0.0." + i, 8000, Map.of()),
                    new EndpointMetrics(1, 4, 0.4, Set.of(), Set.of(), 0, 16, 1000, 0,
                            System.currentTimeMillis()), 2, 512));
        }
        List<Endpoint> endpoints = List.copyOf(pool);
        flow = new FlowController(() -> config, () -> endpoints,
                new FlowControlMetrics(new PrometheusRegistry(), "benchmark"), System::nanoTime);
        requests = new FlowRequest[64];
        for (int i = 0; i < requests.length; i++) {
            requests[i] = new FlowRequest("tenant-" + i, 0, 1024, "m", "m", -1);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        flow.close();
    }

    @Benchmark
    public boolean admit() {
        if (!flow.enabled()) {
            return false;
        }
        FlowController.Ticket ticket = flow.enqueue(requests[next++ & 63]);
        if (ticket.outcome() != Outcome.DISPATCHED) {
            throw new IllegalStateException("queued or rejected: the pool was meant to have room");
        }
        ticket.settled();
        return true;
    }
}
