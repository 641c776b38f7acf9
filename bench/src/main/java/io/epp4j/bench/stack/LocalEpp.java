package io.epp4j.bench.stack;

import java.util.ArrayList;
import java.util.List;

/**
 * An epp4j EPP the bench started for a list of static endpoints, on ephemeral ports: in this JVM
 * ({@link EmbeddedEpp}) or in a JVM of its own ({@link ForkedEpp}), as the EPP wires itself (the scheduler from an
 * EndpointPickerConfig file, GAIE's default profile without one, and the model-server metrics scraper).
 */
public interface LocalEpp extends AutoCloseable {

    /**
     * Starts an EPP for {@code endpoints} ({@code ip:port}).
     *
     * @param ownProcess in a JVM of its own (the harness's threads, heap and JIT then stay out of its way)
     * @param tls serve ext_proc over TLS with the EPP's self-signed certificate
     * @param configFile an EndpointPickerConfig file, or null for the EPP's default
     * @param extraArgs further EPP flags
     */
    static LocalEpp start(boolean ownProcess, List<String> endpoints, boolean tls, String configFile,
                          String... extraArgs) throws Exception {
        return ownProcess ? ForkedEpp.start(endpoints, tls, configFile, extraArgs)
                : EmbeddedEpp.start(endpoints, tls, configFile, extraArgs);
    }

    int grpcPort();

    int metricsPort();

    /** CPU seconds the EPP's process has used so far; NaN when it shares this JVM (its CPU cannot be told apart). */
    double cpuSeconds();

    /** The EPP's flags for {@link #start}'s arguments. */
    static List<String> flags(List<String> endpoints, boolean tls, String configFile, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("--grpc-port", "0", "--grpc-health-port", "0",
                "--metrics-port", "0", "--secure-serving=" + tls, "--endpoints", String.join(",", endpoints),
                "--refresh-metrics-interval", "50ms", "--grace-period", "1s", "--v", "1"));
        if (configFile != null) {
            args.add("--config-file");
            args.add(configFile);
        }
        args.addAll(List.of(extraArgs));
        return args;
    }
}
