package io.epp4j.bench.stack;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * One in-process epp4j EPP ({@code io.epp4j.epp.EppServer}) in static-endpoints mode on ephemeral ports.
 */
public final class EmbeddedEpp implements AutoCloseable {

    private final AutoCloseable server;
    private final int grpcPort;
    private final int metricsPort;
    private final boolean tls;

    private EmbeddedEpp(AutoCloseable server, int grpcPort, int metricsPort, boolean tls) {
        this.server = server;
        this.grpcPort = grpcPort;
        this.metricsPort = metricsPort;
        this.tls = tls;
    }

    /** Whether the EPP classes are on the class path. */
    public static boolean available() {
        try {
            Class.forName("io.epp4j.epp.EppServer");
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * Starts an EPP for {@code endpoints} ({@code ip:port}).
     *
     * @param tls serve ext_proc over TLS with the EPP's self-signed certificate
     * @param configFile an EndpointPickerConfig file, or null for the EPP's default
     * @param extraArgs further EPP flags
     */
    public static EmbeddedEpp start(List<String> endpoints, boolean tls, String configFile, String... extraArgs)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("--grpc-port", "0", "--grpc-health-port", "0",
                "--metrics-port", "0", "--secure-serving=" + tls, "--endpoints", String.join(",", endpoints),
                "--refresh-metrics-interval", "50ms", "--grace-period", "1s", "--v", "1"));
        if (configFile != null) {
            args.add("--config-file");
            args.add(configFile);
        }
        args.addAll(List.of(extraArgs));
        Class<?> optionsClass = Class.forName("io.epp4j.epp.EppOptions");
        Class<?> serverClass = Class.forName("io.epp4j.epp.EppServer");
        Object options = optionsClass.getMethod("parse", String[].class).invoke(null,
                (Object) args.toArray(String[]::new));
        Object server;
        try {
            server = serverClass.getMethod("start", optionsClass).invoke(null, options);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
        Method grpcPort = serverClass.getMethod("grpcPort");
        Method metricsPort = serverClass.getMethod("metricsPort");
        return new EmbeddedEpp((AutoCloseable) server, (int) grpcPort.invoke(server),
                (int) metricsPort.invoke(server), tls);
    }

    public int grpcPort() {
        return grpcPort;
    }

    public int metricsPort() {
        return metricsPort;
    }

    public boolean tls() {
        return tls;
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
