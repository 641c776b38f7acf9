package io.epp4j.bench.sim;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Several simulated servers of one model in this JVM; closing the fleet stops them all. */
public final class SimFleet implements AutoCloseable {

    private final List<SimServer> servers;

    private SimFleet(List<SimServer> servers) {
        this.servers = List.copyOf(servers);
    }

    /**
     * Starts {@code pods} servers named {@code <prefix>-0..n-1} on ephemeral ports (or on
     * {@code basePort + i} when {@code basePort > 0}); each gets seed {@code config.seed() + i}.
     */
    public static SimFleet start(SimConfig config, String namePrefix, int pods, int basePort) throws IOException {
        return start(config, namePrefix, pods, basePort, null);
    }

    /**
     * The same, each pod publishing KV-cache events as {@code kvEvents} says (null: none), pod {@code i} with
     * {@link KvEventsConfig#forPod}{@code (i)} so that their fixed ports do not clash.
     */
    public static SimFleet start(SimConfig config, String namePrefix, int pods, int basePort, KvEventsConfig kvEvents)
            throws IOException {
        List<SimServer> started = new ArrayList<>();
        try {
            for (int i = 0; i < pods; i++) {
                KvEventsConfig kv = kvEvents == null ? null : kvEvents.forPod(i);
                for (int attempt = 1; ; attempt++) {
                    try {
                        started.add(SimServer.start(config.withSeed(config.seed() + i), namePrefix + "-" + i,
                                basePort > 0 ? basePort + i : 0, kv));
                        break;
                    } catch (IOException e) {
                        // an ephemeral HTTP port whose event ports (HTTP port + offset) are taken: try another
                        if (basePort > 0 || kv == null || !kv.followsServingPort() || attempt == 5) {
                            throw e;
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            started.forEach(SimServer::close);
            throw e;
        }
        return new SimFleet(started);
    }

    public List<SimServer> servers() {
        return servers;
    }

    /** {@code ip:port} of every server, in pod order. */
    public List<String> addresses() {
        return servers.stream().map(SimServer::hostPort).toList();
    }

    /** Sum of prefix-cache hits / queries over the fleet, in tokens. */
    public double prefixCacheHitRate() {
        long hits = 0;
        long queries = 0;
        for (SimServer s : servers) {
            EngineCore.Snapshot snap = s.snapshot();
            hits += snap.prefixHits();
            queries += snap.prefixQueries();
        }
        return queries == 0 ? 0 : (double) hits / queries;
    }

    @Override
    public void close() {
        servers.forEach(SimServer::close);
    }
}
