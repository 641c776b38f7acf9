package io.epp4j.bench.stack;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;

import java.util.List;

/** One epp4j EPP ({@code io.epp4j.epp.EppServer}) in this JVM. */
public final class EmbeddedEpp implements LocalEpp {

    private final EppServer server;

    private EmbeddedEpp(EppServer server) {
        this.server = server;
    }

    /** See {@link LocalEpp#start}. */
    public static EmbeddedEpp start(List<String> endpoints, boolean tls, String configFile, String... extraArgs)
            throws Exception {
        List<String> args = LocalEpp.flags(endpoints, tls, configFile, extraArgs);
        return new EmbeddedEpp(EppServer.start(EppOptions.parse(args.toArray(String[]::new))));
    }

    public EppServer server() {
        return server;
    }

    @Override
    public int grpcPort() {
        return server.grpcPort();
    }

    @Override
    public int metricsPort() {
        return server.metricsPort();
    }

    @Override
    public double cpuSeconds() {
        return Double.NaN;
    }

    @Override
    public void close() {
        server.close();
    }
}
