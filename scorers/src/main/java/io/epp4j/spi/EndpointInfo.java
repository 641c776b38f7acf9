package io.epp4j.spi;

import java.util.Map;

/**
 * Identity and address of one endpoint (one target port of one model-server pod); immutable.
 *
 * @param name endpoint name, {@code <pod>-rank-<i>} in Kubernetes mode, {@code ip:port} for static endpoints
 * @param namespace the pool's namespace, or "" without Kubernetes
 * @param podName the pod this endpoint belongs to, or "" without Kubernetes
 * @param ip the pod IP (IPv4 or IPv6, without brackets)
 * @param port the target port
 * @param labels the pod's labels
 */
public record EndpointInfo(String name, String namespace, String podName, String ip, int port,
                           Map<String, String> labels) {

    public EndpointInfo {
        labels = Map.copyOf(labels);
    }

    /** A static endpoint known only by its address. */
    public static EndpointInfo ofAddress(String ip, int port) {
        return new EndpointInfo(hostPort(ip, port), "", "", ip, port, Map.of());
    }

    /** {@code ip:port}, with IPv6 addresses in brackets, as gateways expect in x-gateway-destination-endpoint. */
    public String hostPort() {
        return hostPort(ip, port);
    }

    static String hostPort(String ip, int port) {
        return ip.indexOf(':') >= 0 ? "[" + ip + "]:" + port : ip + ":" + port;
    }
}
