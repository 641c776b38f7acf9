package io.epp4j.bench.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.StreamedBodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An ext_proc server that does nothing an EPP does except answer in the EPP's order: the request-headers
 * answer (a fixed destination) after the request body's end, the body echoed as {@code streamed_response},
 * response headers answered at once and response body chunks echoed as they come. It is the baseline that
 * the decision-speed numbers are divided by, and the EPP stand-in for gateway tests.
 */
public final class NoopExtProcServer implements AutoCloseable {

    private final Server server;
    private final AtomicLong streams = new AtomicLong();
    private final List<List<ProcessingRequest>> recorded = new ArrayList<>();
    private volatile boolean record;

    private NoopExtProcServer(int port, String destination) throws IOException {
        ProcessingResponse headersAnswer = headersAnswer(destination);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
                .directExecutor()
                .addService(new ExternalProcessorGrpc.ExternalProcessorImplBase() {
                    @Override
                    public StreamObserver<ProcessingRequest> process(StreamObserver<ProcessingResponse> out) {
                        streams.incrementAndGet();
                        return new Stream(out, headersAnswer);
                    }
                })
                .build()
                .start();
    }

    /** Starts on {@code 127.0.0.1:port} ({@code 0} = ephemeral), always answering {@code destination}. */
    public static NoopExtProcServer start(int port, String destination) throws IOException {
        return new NoopExtProcServer(port, destination);
    }

    public int port() {
        return server.getPort();
    }

    public long streams() {
        return streams.get();
    }

    /** Keeps every received message, per stream, for tests that check what a gateway sent. */
    public void recordMessages(boolean on) {
        this.record = on;
    }

    public List<List<ProcessingRequest>> recorded() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private static ProcessingResponse headersAnswer(String destination) {
        HeaderMutation mutation = HeaderMutation.newBuilder()
                .addSetHeaders(HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder()
                        .setKey(Messages.DESTINATION)
                        .setRawValue(ByteString.copyFrom(destination, StandardCharsets.UTF_8))))
                .build();
        Struct lb = Struct.newBuilder()
                .putFields(Messages.DESTINATION, Value.newBuilder().setStringValue(destination).build())
                .build();
        return ProcessingResponse.newBuilder()
                .setRequestHeaders(HeadersResponse.newBuilder()
                        .setResponse(CommonResponse.newBuilder().setHeaderMutation(mutation)))
                .setDynamicMetadata(Struct.newBuilder()
                        .putFields(Messages.LB_NAMESPACE, Value.newBuilder().setStructValue(lb).build()))
                .build();
    }

    private static ProcessingResponse bodyChunk(ByteString body, boolean endOfStream, boolean request) {
        BodyResponse br = BodyResponse.newBuilder().setResponse(CommonResponse.newBuilder()
                .setBodyMutation(BodyMutation.newBuilder().setStreamedResponse(
                        StreamedBodyResponse.newBuilder().setBody(body).setEndOfStream(endOfStream))))
                .build();
        ProcessingResponse.Builder b = ProcessingResponse.newBuilder();
        return (request ? b.setRequestBody(br) : b.setResponseBody(br)).build();
    }

    private final class Stream implements StreamObserver<ProcessingRequest> {
        private final StreamObserver<ProcessingResponse> out;
        private final ProcessingResponse headersAnswer;
        private final List<ByteString> pending = new ArrayList<>();
        private final List<ProcessingRequest> messages;

        Stream(StreamObserver<ProcessingResponse> out, ProcessingResponse headersAnswer) {
            this.out = out;
            this.headersAnswer = headersAnswer;
            this.messages = record ? new ArrayList<>() : null;
            if (messages != null) {
                synchronized (recorded) {
                    recorded.add(messages);
                }
            }
        }

        @Override
        public void onNext(ProcessingRequest req) {
            if (messages != null) {
                synchronized (recorded) {
                    messages.add(req);
                }
            }
            switch (req.getRequestCase()) {
                case REQUEST_HEADERS -> {
                    if (req.getRequestHeaders().getEndOfStream()) {
                        out.onNext(headersAnswer);
                    }
                }
                case REQUEST_BODY -> {
                    pending.add(req.getRequestBody().getBody());
                    if (req.getRequestBody().getEndOfStream()) {
                        out.onNext(headersAnswer);
                        for (int i = 0; i < pending.size(); i++) {
                            out.onNext(bodyChunk(pending.get(i), i == pending.size() - 1, true));
                        }
                        pending.clear();
                    }
                }
                case REQUEST_TRAILERS -> out.onNext(ProcessingResponse.newBuilder()
                        .setRequestTrailers(TrailersResponse.getDefaultInstance()).build());
                case RESPONSE_HEADERS -> out.onNext(ProcessingResponse.newBuilder()
                        .setResponseHeaders(HeadersResponse.getDefaultInstance()).build());
                case RESPONSE_BODY -> out.onNext(bodyChunk(req.getResponseBody().getBody(),
                        req.getResponseBody().getEndOfStream(), false));
                case RESPONSE_TRAILERS -> out.onNext(ProcessingResponse.newBuilder()
                        .setResponseTrailers(TrailersResponse.getDefaultInstance()).build());
                default -> {
                }
            }
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
            out.onCompleted();
        }
    }
}
