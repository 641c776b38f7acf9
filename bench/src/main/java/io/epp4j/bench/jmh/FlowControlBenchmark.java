package io.epp4j.bench.jmh;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
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

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What flow control costs a request while the pool is not saturated: {@link ExtProcExchangeBenchmark}'s whole
 * exchange (1 KiB chat body, 8 static endpoints, in-process with direct executors) under one configuration with the
 * {@code flowControl} feature gate on ({@code on}) and the same configuration with it off ({@code off}, the
 * baseline), measured in the same run. The saturation detector is {@code concurrency-detector} with room to spare
 * (no queue forms: the cost is the admission check, the flow lookup and the metrics), and each request sends an
 * {@code x-gateway-inference-fairness-id} out of 64 and an objective. The difference of the two is the cost.
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main FlowControlBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FlowControlBenchmark {

    static final String CONFIG = """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            %s
            plugins:
            - {type: concurrency-detector, parameters: {maxConcurrency: 100000}}
            - {type: round-robin-fairness-policy}
            - {type: queue-scorer}
            saturationDetector: {pluginRef: concurrency-detector}
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
            flowControl:
              defaultRequestTTL: 30s
              defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}
            """;

    @Param({"off", "on"})
    public String flowControl;

    private EppServer epp;
    private Server server;
    private ManagedChannel channel;
    private List<ProcessingRequest>[] requestMessages;
    private List<ProcessingRequest> responseMessages;
    private int next;

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        String config = String.format(CONFIG, flowControl.equals("on") ? "featureGates: [\"flowControl\"]" : "");
        epp = EppServer.start(EppOptions.parse("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                "--secure-serving=false", "--decision-threads=0", "--config-text=" + config,
                "--endpoints=10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000,10.0.0.4:8000,10.0.0.5:8000,10.0.0.6:8000,"
                        + "10.0.0.7:8000,10.0.0.8:8000"));
        String name = "bench-flow-" + flowControl;
        server = InProcessServerBuilder.forName(name).directExecutor().addService(epp.extProcService()).build()
                .start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        byte[] body = ExtProcExchangeBenchmark.chatBody(1024);
        requestMessages = new List[64];
        for (int i = 0; i < requestMessages.length; i++) {
            requestMessages[i] = io.epp4j.gatewaykit.Messages.request(io.epp4j.gatewaykit.Dialect.ISTIO,
                    io.epp4j.gatewaykit.Messages.post("/v1/chat/completions", body.length,
                            "x-gateway-inference-fairness-id", "tenant-" + i,
                            "x-gateway-inference-objective", "standard"), body, 16 * 1024);
        }
        responseMessages = ExtProcExchangeBenchmark.responseMessages();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        epp.close();
    }

    @Benchmark
    public int exchange() throws InterruptedException {
        return ExtProcExchangeBenchmark.exchange(channel, requestMessages[next++ & 63], responseMessages);
    }
}
