package io.epp4j.bench.jmh;

import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.StreamedBodyResponse;
import io.epp4j.epp.BbrServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.Messages;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
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

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One whole ext_proc exchange as Istio sends it (FULL_DUPLEX_STREAMED both ways), in-process with direct
 * executors so the figure is CPU and allocation per request, not thread hand-offs: request headers, the chat body
 * in 16 KiB chunks, the EPP's pick and body echo, response headers, a 300-byte JSON response with usage, its
 * echo, half-close. {@code impl=epp} is the real EPP (parse, schedule over 8 static endpoints, account);
 * {@code impl=echo} is the baseline: the least a legal FULL_DUPLEX server can do over the same transport (answer
 * the headers, echo every chunk as it comes). {@code impl=bbr-map} and {@code impl=bbr-cel} are epp4j's body-based
 * router ({@code --mode bbr}) with the model's base model from a {@code --base-model-map} file or from an
 * agentgateway-style {@code --base-model-cel} expression: scan the body for {@code model}, set the two headers,
 * echo the body and pass the response through.
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main ExtProcExchangeBenchmark -prof gc}; the
 * body-based router beside the baseline: {@code ... ExtProcExchangeBenchmark -p impl=bbr-map,bbr-cel,echo
 * -p bodyBytes=1024,409600}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ExtProcExchangeBenchmark {

    @Param({"1024", "8192", "409600"})
    public int bodyBytes;

    @Param({"epp", "echo", "bbr-map", "bbr-cel"})
    public String impl;

    private EppServer epp;
    private BbrServer bbr;
    private Path mapFile;
    private Server server;
    private ManagedChannel channel;
    private List<ProcessingRequest> requestMessages;
    private List<ProcessingRequest> responseMessages;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        BindableService service;
        if (impl.equals("epp")) {
            // decisions on the calling thread too, so the figure stays CPU and allocation per request
            epp = EppServer.start(EppOptions.parse("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                    "--secure-serving=false", "--decision-threads=0", "--endpoints=10.0.0.1:8000,10.0.0.2:8000,"
                            + "10.0.0.3:8000,10.0.0.4:8000,10.0.0.5:8000,10.0.0.6:8000,10.0.0.7:8000,10.0.0.8:8000"));
            service = epp.extProcService();
        } else if (impl.startsWith("bbr-")) {
            mapFile = Files.createTempFile("bench-base-models-", ".yaml");
            Files.writeString(mapFile, "llama-3-8b: meta-llama/Llama-3-8B\n");
            bbr = BbrServer.start(EppOptions.parse("--mode=bbr", "--grpc-port=0", "--grpc-health-port=0",
                    "--metrics-port=0", "--secure-serving=false", impl.equals("bbr-map")
                            ? "--base-model-map=" + mapFile
                            : "--base-model-cel={\"llama-3-8b\": \"meta-llama/Llama-3-8B\"}[json(request.body).model]"),
                    new PrometheusRegistry(), Duration.ofSeconds(1));
            service = bbr.extProcService();
        } else {
            service = new EchoService();
        }
        String name = "bench-" + impl + "-" + bodyBytes;
        server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        requestMessages = requestMessages(chatBody(bodyBytes));
        responseMessages = responseMessages();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (epp != null) {
            epp.close();
        }
        if (bbr != null) {
            bbr.close();
            Files.deleteIfExists(mapFile);
        }
    }

    @Benchmark
    public int exchange() throws InterruptedException {
        return exchange(channel, requestMessages, responseMessages);
    }

    /** One exchange on {@code channel}: the request side, its pick and echo, the response side, half-close. */
    static int exchange(ManagedChannel channel, List<ProcessingRequest> requestMessages,
                        List<ProcessingRequest> responseMessages) throws InterruptedException {
        Exchange exchange = new Exchange();
        StreamObserver<ProcessingRequest> requests = ExternalProcessorGrpc.newStub(channel).process(exchange);
        for (ProcessingRequest m : requestMessages) {
            requests.onNext(m);
        }
        exchange.requestBodyDone.await();
        for (ProcessingRequest m : responseMessages) {
            requests.onNext(m);
        }
        exchange.responseBodyDone.await();
        requests.onCompleted();
        exchange.closed.await();
        return exchange.answers;
    }

    /** Counts the answers and notes the two end_of_stream echoes and the close. */
    static final class Exchange implements StreamObserver<ProcessingResponse> {
        final CountDownLatch requestBodyDone = new CountDownLatch(1);
        final CountDownLatch responseBodyDone = new CountDownLatch(1);
        final CountDownLatch closed = new CountDownLatch(1);
        int answers;

        @Override
        public void onNext(ProcessingResponse r) {
            answers++;
            if (r.hasRequestBody() && r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse()
                    .getEndOfStream()) {
                requestBodyDone.countDown();
            } else if (r.hasResponseBody() && r.getResponseBody().getResponse().getBodyMutation()
                    .getStreamedResponse().getEndOfStream()) {
                responseBodyDone.countDown();
            } else if (r.hasImmediateResponse()) {
                throw new IllegalStateException("unexpected " + r);
            }
        }

        @Override
        public void onError(Throwable t) {
            requestBodyDone.countDown();
            responseBodyDone.countDown();
            closed.countDown();
        }

        @Override
        public void onCompleted() {
            closed.countDown();
        }
    }

    /** The baseline: a minimal legal FULL_DUPLEX_STREAMED server that routes nothing and echoes everything. */
    static final class EchoService extends ExternalProcessorGrpc.ExternalProcessorImplBase {
        @Override
        public StreamObserver<ProcessingRequest> process(StreamObserver<ProcessingResponse> out) {
            return new StreamObserver<>() {
                boolean requestHeadersAnswered;

                @Override
                public void onNext(ProcessingRequest m) {
                    switch (m.getRequestCase()) {
                        case REQUEST_BODY -> {
                            if (!requestHeadersAnswered) {
                                requestHeadersAnswered = true;
                                out.onNext(ProcessingResponse.newBuilder().setRequestHeaders(
                                        HeadersResponse.getDefaultInstance()).build());
                            }
                            out.onNext(ProcessingResponse.newBuilder().setRequestBody(echo(m.getRequestBody()))
                                    .build());
                        }
                        case RESPONSE_HEADERS -> out.onNext(ProcessingResponse.newBuilder().setResponseHeaders(
                                HeadersResponse.getDefaultInstance()).build());
                        case RESPONSE_BODY -> out.onNext(ProcessingResponse.newBuilder()
                                .setResponseBody(echo(m.getResponseBody())).build());
                        default -> { }
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    out.onCompleted();
                }
            };
        }

        private static BodyResponse echo(HttpBody body) {
            return BodyResponse.newBuilder().setResponse(CommonResponse.newBuilder().setBodyMutation(
                    BodyMutation.newBuilder().setStreamedResponse(StreamedBodyResponse.newBuilder()
                            .setBody(body.getBody()).setEndOfStream(body.getEndOfStream())))).build();
        }
    }

    static byte[] chatBody(int size) {
        String head = "{\"model\":\"llama-3-8b\",\"stream\":false,\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"";
        String tail = "\"}]}";
        StringBuilder content = new StringBuilder();
        while (head.length() + content.length() + tail.length() < size) {
            content.append("The quick brown fox jumps over the lazy dog. ");
        }
        content.setLength(Math.max(0, size - head.length() - tail.length()));
        return (head + content + tail).getBytes(StandardCharsets.UTF_8);
    }

    /** Istio's request side: headers with FULL_DUPLEX_STREAMED both ways, then the body in 16 KiB chunks. */
    static List<ProcessingRequest> requestMessages(byte[] body) {
        Map<String, String> headers = Messages.post("/v1/chat/completions", body.length,
                "x-request-id", "6a1c3e2b-bench", "user-agent", "bench/1.0");
        return Messages.request(Dialect.ISTIO, headers, body, 16 * 1024);
    }

    static List<ProcessingRequest> responseMessages() {
        String json = "{\"id\":\"cmpl-1\",\"object\":\"chat.completion\",\"model\":\"llama-3-8b\",\"choices\":[{"
                + "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello there, how can I help?\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":9,"
                + "\"total_tokens\":129,\"prompt_tokens_details\":{\"cached_tokens\":64}}}";
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":status", "200");
        headers.put("content-type", "application/json");
        return List.of(Messages.responseHeaders(Dialect.ISTIO, headers, false, null),
                Messages.responseBody(Messages.utf8(json), true, null));
    }
}
