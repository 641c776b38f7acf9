package io.epp4j.bench.gateway;

import io.epp4j.gatewaykit.Dialect;

import java.util.List;

/**
 * One InferencePool behind the gateway: the base model its HTTPRoute matches on, its endpoints, and how an
 * endpoint is chosen.
 *
 * @param name pool name (for logs and the per-pod table)
 * @param baseModel value of {@code X-Gateway-Base-Model-Name} that routes here
 * @param endpoints {@code ip:port} of every model-server endpoint (the Validated destination set)
 * @param routing who picks the endpoint
 */
public record Pool(String name, String baseModel, List<String> endpoints, Routing routing) {

    public Pool {
        endpoints = List.copyOf(endpoints);
    }

    /** Who picks the endpoint. */
    public sealed interface Routing permits ViaEpp, Balanced {
    }

    /**
     * Ask the pool's EPP over ext_proc: one EPP, or several replicas of it behind one Service, each request's
     * ext_proc stream going to the next replica in turn.
     *
     * @param ports the EPP replicas' ports on {@code host}
     * @param tls TLS without certificate verification (what agentgateway's controller configures)
     * @param dialect how the gateway speaks ext_proc
     */
    public record ViaEpp(String host, List<Integer> ports, boolean tls, Dialect dialect) implements Routing {
        public ViaEpp {
            ports = List.copyOf(ports);
            if (ports.isEmpty()) {
                throw new IllegalArgumentException("at least one EPP port");
            }
        }

        /** One EPP. */
        public ViaEpp(String host, int port, boolean tls, Dialect dialect) {
            this(host, List.of(port), tls, dialect);
        }
    }

    /** No EPP: the gateway balances by itself, as a Kubernetes Service would. */
    public record Balanced(Policy policy, long seed) implements Routing {
    }

    /** Gateway-side balancing policies. */
    public enum Policy {
        ROUND_ROBIN, RANDOM
    }
}
