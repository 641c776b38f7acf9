package io.epp4j.bench.stack;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.spi.EndpointInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    /**
     * An EPP for the pods of {@code roleByAddress} ({@code ip:port} to its {@code llm-d.ai/role} label), as the
     * EPP would see them in Kubernetes, scheduling with {@code configFile}.
     */
    public static EmbeddedEpp startWithRoles(Map<String, String> roleByAddress, boolean tls, String configFile,
                                             String... extraArgs) throws Exception {
        EmbeddedEpp epp = start(List.copyOf(roleByAddress.keySet()), tls, configFile, extraArgs);
        List<EndpointInfo> labelled = new ArrayList<>();
        for (Map.Entry<String, String> e : roleByAddress.entrySet()) {
            EndpointInfo plain = epp.server.endpointStore().get(e.getKey()).info();
            labelled.add(new EndpointInfo(plain.name(), plain.namespace(), plain.podName(), plain.ip(), plain.port(),
                    Map.of("llm-d.ai/role", e.getValue())));
        }
        epp.server.endpointStore().replaceAll(labelled);
        return epp;
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
