package io.epp4j.epp.kvevents;

import java.time.Duration;

/**
 * How the EPP subscribes to its pods' KV events ({@code kvEventsConfig} of llm-d's precise prefix plugins, plus
 * epp4j's fallback settings).
 *
 * @param topicFilter SUB prefix filter, llm-d's default {@code kv@}
 * @param socketPort the port each pod's publisher binds (vLLM's {@code tcp://*:5557})
 * @param socketPortOffset when not 0, dial {@code servingPort + offset} instead of {@code socketPort} (for pods
 *     sharing one address, as simulated fleets on loopback do)
 * @param replaySocketPort the pods' replay ROUTER port; 0 = no replay
 * @param replaySocketPortOffset like {@code socketPortOffset}, for the replay socket
 * @param concurrency worker threads decoding and applying events (a pod always lands on the same one)
 * @param queueCapacity messages waiting per worker; beyond it messages are dropped and counted
 * @param replayTimeout how long a replay may wait for its next message
 * @param staleAfter a pod routed a request this long ago with no event since is stale
 * @param fallback whether stale or gapped pods are scored by the approximate index
 */
public record KvEventsConfig(String topicFilter, int socketPort, int socketPortOffset, int replaySocketPort,
                             int replaySocketPortOffset, int concurrency, int queueCapacity, Duration replayTimeout,
                             Duration staleAfter, boolean fallback) {

    public static final KvEventsConfig DEFAULT = new KvEventsConfig("kv@", 5557, 0, 0, 0, 4, 10_000,
            Duration.ofSeconds(2), Duration.ofSeconds(5), true);

    /** The SUB endpoint of a pod serving at {@code ip:port}. */
    public String subEndpoint(String ip, int servingPort) {
        return tcp(ip, socketPortOffset != 0 ? servingPort + socketPortOffset : socketPort);
    }

    /** The replay endpoint of a pod, or null when replay is off. */
    public String replayEndpoint(String ip, int servingPort) {
        if (replaySocketPortOffset != 0) {
            return tcp(ip, servingPort + replaySocketPortOffset);
        }
        return replaySocketPort > 0 ? tcp(ip, replaySocketPort) : null;
    }

    private static String tcp(String ip, int port) {
        return "tcp://" + (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port;
    }
}
