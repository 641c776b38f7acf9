package io.epp4j.helm;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.bench.extproc.ExtProcMessages;
import io.epp4j.bench.extproc.GatewayProfile;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.grpc.stub.StreamObserver;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The gateway side of ext_proc the way agentgateway speaks it in Kubernetes: TLS without certificate checks,
 * FULL_DUPLEX_STREAMED bodies, pseudo-headers in {@code value}, the rest in {@code raw_value}, one stream per
 * request. Only the request side is played: the test needs the EPP's choice of endpoint.
 */
final class AgentgatewayClient implements AutoCloseable {

    private static final Duration ANSWER_DEADLINE = Duration.ofSeconds(20);

    private final ManagedChannel channel;

    AgentgatewayClient(int eppPort) throws Exception {
        var credentials = TlsChannelCredentials.newBuilder()
                .trustManager(InsecureTrustManagerFactory.INSTANCE.getTrustManagers()).build();
        this.channel = Grpc.newChannelBuilderForAddress("127.0.0.1", eppPort, credentials)
                .overrideAuthority("vllm-qwen3-06b-epp.llm")
                .build();
    }

    /** Sends a chat completion for {@code model}; returns the EPP's {@code x-gateway-destination-endpoint}. */
    String pickEndpoint(String model, String prompt) throws InterruptedException {
        byte[] body = ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + prompt + "\"}],\"max_tokens\":16}").getBytes(StandardCharsets.UTF_8);
        LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
        StreamObserver<ProcessingRequest> requests = ExternalProcessorGrpc.newStub(channel)
                .process(new StreamObserver<>() {
                    @Override
                    public void onNext(ProcessingResponse value) {
                        answers.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answers.add(t);
                    }

                    @Override
                    public void onCompleted() {
                        answers.add("completed");
                    }
                });
        requests.onNext(ExtProcMessages.requestHeaders(GatewayProfile.AGENTGATEWAY, List.of(
                        Map.entry("content-type", "application/json"),
                        Map.entry("content-length", Integer.toString(body.length)),
                        Map.entry("x-gateway-base-model-name", model)),
                "POST", "http", "inference-gateway", "/v1/chat/completions", false));
        requests.onNext(ExtProcMessages.requestBody(ByteString.copyFrom(body), true));
        try {
            while (true) {
                Object answer = answers.poll(ANSWER_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
                if (answer == null) {
                    throw new AssertionError("no answer from the EPP within " + ANSWER_DEADLINE);
                }
                if (answer instanceof Throwable error) {
                    throw new AssertionError("the EPP failed the stream", error);
                }
                if (!(answer instanceof ProcessingResponse response)) {
                    throw new AssertionError("the EPP ended the stream before answering the request headers");
                }
                if (response.hasImmediateResponse()) {
                    throw new AssertionError("the EPP answered with an immediate response: "
                            + response.getImmediateResponse());
                }
                if (response.hasRequestHeaders()) {
                    String destination = ExtProcMessages.destinationHeader(response);
                    if (destination == null) {
                        throw new AssertionError("request headers answered without x-gateway-destination-endpoint: "
                                + response);
                    }
                    return destination;
                }
            }
        } finally {
            requests.onCompleted();
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
    }
}
