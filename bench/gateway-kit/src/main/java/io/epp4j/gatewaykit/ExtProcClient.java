package io.epp4j.gatewaykit;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A gateway's connection to one EPP: one HTTP/2 connection carrying one ext_proc stream per HTTP request. Runs
 * whole exchanges the way a {@link Dialect}'s gateway runs them, or opens {@link GatewayStream}s for finer control.
 * Thread-safe.
 */
public final class ExtProcClient implements AutoCloseable {

    private static final Duration EXCHANGE_WAIT = Duration.ofSeconds(30);

    private final ManagedChannel channel;

    private ExtProcClient(ManagedChannel channel) {
        this.channel = channel;
    }

    /** Plaintext h2c, as agentgateway standalone or an EPP run with {@code --secure-serving=false}. */
    public static ExtProcClient plaintext(String host, int port) {
        return new ExtProcClient(builder(host, port, InsecureChannelCredentials.create()).build());
    }

    /**
     * TLS without certificate checks, as agentgateway, GAIE's Istio DestinationRule and Envoy AI Gateway configure
     * it (the EPP's certificate is self-signed by default).
     *
     * @param authority the {@code :authority} to send (the EPP Service's name), or null for {@code host:port}
     */
    public static ExtProcClient insecureTls(String host, int port, String authority) {
        ChannelCredentials tls = TlsChannelCredentials.newBuilder().trustManager(new TrustManager[] {TRUST_ALL})
                .build();
        ManagedChannelBuilder<?> b = builder(host, port, tls);
        if (authority != null) {
            b.overrideAuthority(authority);
        }
        return new ExtProcClient(b.build());
    }

    /**
     * Answers are handed to their {@link GatewayStream} on the connection's own transport thread, as a gateway's
     * worker thread reads them: gRPC's default executor would add a thread wake-up to every answer, thousands a
     * second when responses stream, and on a small machine the EPP being measured waits for those threads' cores.
     */
    private static ManagedChannelBuilder<?> builder(String host, int port, ChannelCredentials credentials) {
        return Grpc.newChannelBuilderForAddress(host, port, credentials).maxInboundMessageSize(Integer.MAX_VALUE)
                .directExecutor();
    }

    public ManagedChannel channel() {
        return channel;
    }

    /** A new stream (one HTTP request). */
    public GatewayStream open() {
        return GatewayStream.open(channel);
    }

    /**
     * What the EPP made of one request.
     *
     * @param destination the address the gateway would dial, or null when the EPP answered itself
     * @param immediateStatus the status of the EPP's immediate response, or 0
     * @param forwardedBody the request body the EPP echoed for the model server
     * @param returnedBody the response body the EPP passed back to the client, or null when none was played
     */
    public record Answer(String destination, int immediateStatus, byte[] forwardedBody, byte[] returnedBody) {
        public boolean picked() {
            return destination != null;
        }

        /** The forwarded body as UTF-8 text, or null. */
        public String forwardedText() {
            return forwardedBody == null ? null : new String(forwardedBody, StandardCharsets.UTF_8);
        }

        /** The returned body as UTF-8 text, or null. */
        public String returnedText() {
            return returnedBody == null ? null : new String(returnedBody, StandardCharsets.UTF_8);
        }
    }

    /**
     * One exchange as {@code dialect}'s gateway runs it: the request side (headers, then {@code body} in one
     * frame), the EPP's pick read as that gateway reads it, and the echoed body; then, with a
     * {@code modelServerAnswer}, that JSON played back as the model server's response through the EPP. The stream
     * is half-closed at the end.
     *
     * @throws AssertionError when the EPP does not answer within 30 s or ends the stream early
     */
    public Answer exchange(Dialect dialect, Map<String, String> headers, byte[] body, byte[] modelServerAnswer)
            throws InterruptedException {
        GatewayStream s = GatewayStream.open(channel, EXCHANGE_WAIT);
        try {
            s.send(Messages.request(dialect, headers, body, Math.max(1, body.length)));
            String destination = null;
            ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
            boolean bodyDone = body.length == 0;
            while (destination == null || !bodyDone) {
                ProcessingResponse r = s.next(EXCHANGE_WAIT);
                if (r.hasImmediateResponse()) {
                    return new Answer(null, r.getImmediateResponse().getStatus().getCodeValue(), null, null);
                }
                if (r.hasRequestHeaders()) {
                    destination = dialect.destination(r);
                }
                if (r.hasRequestBody()) {
                    var streamed = r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse();
                    forwarded.writeBytes(streamed.getBody().toByteArray());
                    bodyDone = streamed.getEndOfStream();
                }
            }
            if (modelServerAnswer == null) {
                return new Answer(destination, 0, forwarded.toByteArray(), null);
            }
            Metadata metadata = dialect.responseMetadata(destination, destination);
            Map<String, String> responseHeaders = new LinkedHashMap<>();
            responseHeaders.put(":status", "200");
            responseHeaders.put("content-type", "application/json");
            s.send(Messages.responseHeaders(dialect, responseHeaders, false, metadata),
                    Messages.responseBody(modelServerAnswer, true, metadata));
            ByteArrayOutputStream returned = new ByteArrayOutputStream();
            while (true) {
                ProcessingResponse r = s.next(EXCHANGE_WAIT);
                if (r.hasResponseBody()) {
                    var streamed = r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse();
                    returned.writeBytes(streamed.getBody().toByteArray());
                    if (streamed.getEndOfStream()) {
                        return new Answer(destination, 0, forwarded.toByteArray(), returned.toByteArray());
                    }
                }
            }
        } finally {
            s.halfClose();
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Accepts any server certificate and name: gateways do not verify the EPP's. */
    private static final X509ExtendedTrustManager TRUST_ALL = new X509ExtendedTrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };
}
