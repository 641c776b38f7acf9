package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ProtocolConfiguration;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.TlsChannelCredentials;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A started EPP plus a channel to its ext_proc service over the chosen transport; close() stops both. */
public final class EppFixture implements AutoCloseable {

    /** How the gateway reaches the EPP. */
    public enum Transport { IN_PROCESS, TCP, TLS }

    public final EppServer server;
    public final ManagedChannel channel;
    private final Server inProcess;

    private EppFixture(EppServer server, ManagedChannel channel, Server inProcess) {
        this.server = server;
        this.channel = channel;
        this.inProcess = inProcess;
    }

    public static EppFixture start(Transport transport, String... flags) throws Exception {
        return start(transport, EppServer.Components.defaults(), flags);
    }

    public static EppFixture start(Transport transport, EppServer.Components components, String... flags)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                "--secure-serving=" + (transport == Transport.TLS), "--grace-period=5s"));
        args.addAll(List.of(flags));
        EppServer server = EppServer.start(EppOptions.parse(args.toArray(new String[0])), components);
        try {
            switch (transport) {
                case IN_PROCESS -> {
                    String name = InProcessServerBuilder.generateName();
                    Server in = InProcessServerBuilder.forName(name).addService(server.extProcService()).build()
                            .start();
                    return new EppFixture(server, InProcessChannelBuilder.forName(name).build(), in);
                }
                case TCP -> {
                    return new EppFixture(server, channel(server.grpcPort(), InsecureChannelCredentials.create()),
                            null);
                }
                default -> {
                    ChannelCredentials tls = TlsChannelCredentials.newBuilder()
                            .trustManager(InsecureTrustManagerFactory.INSTANCE.getTrustManagers()).build();
                    return new EppFixture(server, channel(server.grpcPort(), tls), null);
                }
            }
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    private static ManagedChannel channel(int port, ChannelCredentials credentials) {
        return Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials).build();
    }

    public GatewayStream open() {
        return GatewayStream.open(channel);
    }

    /**
     * A new stream that has sent a POST of {@code body} to {@code path} as {@code dialect} sends it
     * (FULL_DUPLEX_STREAMED), the body in {@code chunkSize} frames carrying {@code metadata} (null: none), the
     * headers with {@code extraHeaders} name/value pairs.
     */
    public GatewayStream post(Dialect dialect, String path, byte[] body, int chunkSize, Metadata metadata,
                              String... extraHeaders) {
        return open().send(Messages.requestHeaders(dialect, Messages.post(path, body.length, extraHeaders), false,
                Messages.fullDuplex())).send(Messages.requestBodyChunks(body, chunkSize, metadata));
    }

    /**
     * A new stream that has sent the headers of a POST of {@code body} to {@code /v1/chat/completions} as
     * {@code dialect} sends them, with {@code config}; the body is the test's to send.
     */
    public GatewayStream chatHeaders(Dialect dialect, byte[] body, ProtocolConfiguration config) {
        return open().send(Messages.requestHeaders(dialect, Messages.post("/v1/chat/completions", body.length), false,
                config));
    }

    /** The EPP's Prometheus text from its metrics port. */
    public String metricsText() throws IOException, InterruptedException {
        return metricsText(server.metricsPort());
    }

    /** The Prometheus text an EPP serves on {@code port}; fails unless it answers 200. */
    public static String metricsText(int port) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new AssertionError("GET /metrics answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    @Override
    public void close() {
        try {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            if (inProcess != null) {
                inProcess.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            server.close();
        }
    }
}
