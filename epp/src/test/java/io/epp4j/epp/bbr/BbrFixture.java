package io.epp4j.epp.bbr;

import io.epp4j.epp.BbrServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.gatewaykit.GatewayStream;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A started body-based router plus a channel to it over loopback TCP or the in-process transport. */
final class BbrFixture implements AutoCloseable {

    final BbrServer server;
    final ManagedChannel channel;
    private final Server inProcess;

    private BbrFixture(BbrServer server, ManagedChannel channel, Server inProcess) {
        this.server = server;
        this.channel = channel;
        this.inProcess = inProcess;
    }

    /** Starts {@code --mode bbr} on ephemeral ports, plaintext, polling a map file every 10 ms. */
    static BbrFixture start(EppFixture.Transport transport, String... flags) throws Exception {
        List<String> args = new ArrayList<>(List.of("--mode=bbr", "--grpc-port=0", "--grpc-health-port=0",
                "--metrics-port=0", "--secure-serving=false", "--grace-period=1s"));
        args.addAll(List.of(flags));
        BbrServer server = BbrServer.start(EppOptions.parse(args.toArray(new String[0])), new PrometheusRegistry(),
                Duration.ofMillis(10));
        if (transport == EppFixture.Transport.IN_PROCESS) {
            String name = InProcessServerBuilder.generateName();
            Server in = InProcessServerBuilder.forName(name).addService(server.extProcService()).build().start();
            return new BbrFixture(server, InProcessChannelBuilder.forName(name).build(), in);
        }
        return new BbrFixture(server, Grpc.newChannelBuilderForAddress("127.0.0.1", server.grpcPort(),
                InsecureChannelCredentials.create()).build(), null);
    }

    GatewayStream open() {
        return GatewayStream.open(channel);
    }

    String metricsText() throws Exception {
        return EppFixture.metricsText(server.metricsPort());
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (inProcess != null) {
            inProcess.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        server.close();
    }
}
