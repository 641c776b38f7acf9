package io.epp4j.bench.sim;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A simulated pod's KV-cache events, as vLLM's {@code --kv-events-config} sets them.
 *
 * @param endpoint the PUB socket (vLLM's default {@code tcp://*:5557}); bound when it contains {@code *} or
 *     {@code ::} or is {@code ipc://}/{@code inproc://}, else connected, as vLLM decides; {@code tcp://127.0.0.1:*}
 *     binds an ephemeral port; {@code {port+N}} stands for the pod's HTTP port plus N (the convention of a
 *     simulated fleet on loopback, where pods share an address: {@link #servingPortOffsets})
 * @param replayEndpoint the ROUTER socket answering replay requests, always bound; null for no replay
 * @param topic frame 0 of every message; null for llm-d's {@code kv@<ip>:<port>@<model>} with the pod's HTTP
 *     address
 * @param encoding the events' layout (map: current vLLM; array: before vLLM PR #42892)
 * @param bufferSteps batches kept for replay (vLLM's {@code buffer_steps})
 * @param hwm the PUB socket's send high-water mark (vLLM's {@code hwm})
 */
public record KvEventsConfig(String endpoint, String replayEndpoint, String topic, KvEventCodec.Encoding encoding,
                             int bufferSteps, int hwm) {

    /** vLLM's defaults: {@code tcp://*:5557}, no replay, map encoding, 10,000 batches, high-water mark 100,000. */
    public static final KvEventsConfig VLLM_DEFAULTS = new KvEventsConfig("tcp://*:5557", null, null,
            KvEventCodec.Encoding.MAP, 10_000, 100_000);

    /** Ephemeral loopback ports for both sockets (tests, and a replay's many pods on one host). */
    public static final KvEventsConfig LOOPBACK = new KvEventsConfig("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", null,
            KvEventCodec.Encoding.MAP, 10_000, 100_000);

    /**
     * Sockets on the pod's HTTP port plus {@code events} (PUB) and plus {@code replay} (ROUTER): an EPP that
     * knows a pod's serving address finds its events (the EPP's {@code socketPortOffset} and
     * {@code replaySocketPortOffset}).
     */
    public static KvEventsConfig servingPortOffsets(int events, int replay) {
        return new KvEventsConfig("tcp://*:{port+" + events + "}", "tcp://*:{port+" + replay + "}",
                null, KvEventCodec.Encoding.MAP, 10_000, 100_000);
    }

    private static final Pattern SERVING_PORT = Pattern.compile("\\{port\\+(\\d+)}");

    /** This configuration with {@code {port+N}} replaced by {@code servingPort + N}. */
    KvEventsConfig resolve(int servingPort) {
        return new KvEventsConfig(resolve(endpoint, servingPort), replayEndpoint == null ? null
                : resolve(replayEndpoint, servingPort), topic, encoding, bufferSteps, hwm);
    }

    private static String resolve(String endpoint, int servingPort) {
        Matcher m = SERVING_PORT.matcher(endpoint);
        return m.find() ? m.replaceFirst(Integer.toString(servingPort + Integer.parseInt(m.group(1)))) : endpoint;
    }

    /** Whether the endpoints depend on the pod's HTTP port. */
    boolean followsServingPort() {
        return endpoint.contains("{port+") || (replayEndpoint != null && replayEndpoint.contains("{port+"));
    }

    private static final Pattern TCP_PORT = Pattern.compile("^(tcp://.*:)(\\d+)$");

    public KvEventsConfig {
        java.util.Objects.requireNonNull(endpoint, "endpoint");
        java.util.Objects.requireNonNull(encoding, "encoding");
        if (bufferSteps < 1 || hwm < 0) {
            throw new IllegalArgumentException("bufferSteps must be positive and hwm non-negative");
        }
    }

    public KvEventsConfig withEncoding(KvEventCodec.Encoding encoding) {
        return new KvEventsConfig(endpoint, replayEndpoint, topic, encoding, bufferSteps, hwm);
    }

    public KvEventsConfig withReplayEndpoint(String replayEndpoint) {
        return new KvEventsConfig(endpoint, replayEndpoint, topic, encoding, bufferSteps, hwm);
    }

    public KvEventsConfig withBufferSteps(int bufferSteps) {
        return new KvEventsConfig(endpoint, replayEndpoint, topic, encoding, bufferSteps, hwm);
    }

    /**
     * The configuration of pod {@code index} of a fleet on one host: both TCP ports moved up by {@code index}, as vLLM
     * moves them by the data-parallel rank, so pods started from one configuration do not clash (ephemeral
     * {@code *} ports stay as they are).
     */
    public KvEventsConfig forPod(int index) {
        return new KvEventsConfig(offsetPort(endpoint, index), replayEndpoint == null ? null
                : offsetPort(replayEndpoint, index), topic, encoding, bufferSteps, hwm);
    }

    static String offsetPort(String endpoint, int offset) {
        Matcher m = TCP_PORT.matcher(endpoint);
        return m.matches() ? m.group(1) + (Integer.parseInt(m.group(2)) + offset) : endpoint;
    }

    /** Whether vLLM binds {@code endpoint} rather than connecting to it. */
    static boolean binds(String endpoint) {
        return endpoint.contains("*") || endpoint.contains("::") || endpoint.startsWith("ipc://")
                || endpoint.startsWith("inproc://");
    }
}
