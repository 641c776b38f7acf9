package io.epp4j.bench.stack;

import io.epp4j.epp.BbrServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.gatewaykit.ExtProcClient;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** epp4j's body-based router ({@code --mode bbr}) in this JVM, reading a map file written from the stack's models. */
final class EmbeddedBbr implements AutoCloseable {

    private final BbrServer server;
    private final Path mapFile;
    private final boolean tls;

    private EmbeddedBbr(BbrServer server, Path mapFile, boolean tls) {
        this.server = server;
        this.mapFile = mapFile;
        this.tls = tls;
    }

    /** @param baseModelByModel written as the {@code --base-model-map} file (model-or-adapter: base-model) */
    static EmbeddedBbr start(Map<String, String> baseModelByModel, boolean tls) throws Exception {
        Path map = Files.createTempFile("epp4j-base-models-", ".yaml");
        StringBuilder yaml = new StringBuilder("# model-or-adapter: base-model\n");
        baseModelByModel.forEach((model, base) -> yaml.append('"').append(model).append("\": \"").append(base)
                .append("\"\n"));
        Files.writeString(map, yaml);
        try {
            BbrServer server = BbrServer.start(EppOptions.parse("--mode=bbr", "--grpc-port=0",
                    "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=" + tls, "--grace-period=1s",
                    "--base-model-map=" + map), new PrometheusRegistry(), Duration.ofSeconds(1));
            return new EmbeddedBbr(server, map, tls);
        } catch (Exception e) {
            Files.deleteIfExists(map);
            throw e;
        }
    }

    /** A client the gateway calls the router with (TLS without verification, as gateways do). */
    ExtProcClient client() {
        return tls ? ExtProcClient.insecureTls("127.0.0.1", server.grpcPort(), null)
                : ExtProcClient.plaintext("127.0.0.1", server.grpcPort());
    }

    int grpcPort() {
        return server.grpcPort();
    }

    int metricsPort() {
        return server.metricsPort();
    }

    Path mapFile() {
        return mapFile;
    }

    @Override
    public void close() {
        server.close();
        try {
            Files.deleteIfExists(mapFile);
        } catch (IOException e) {
            // a temp file left behind
        }
    }
}
