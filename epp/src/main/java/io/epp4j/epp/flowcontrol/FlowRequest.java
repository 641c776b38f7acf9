package io.epp4j.epp.flowcontrol;

/**
 * What flow control needs to know of a request: its flow (fairness id within a priority band), its size, the
 * models it is counted under, and its {@code x-slo-ttft-ms} deadline for {@code slo-deadline-ordering-policy}.
 *
 * @param fairnessId {@code x-gateway-inference-fairness-id}, or {@code default-flow}
 * @param priority the InferenceObjective's priority (higher is served first; below 0 is sheddable)
 * @param sizeBytes the request body's length
 * @param sloTtftMillis the {@code x-slo-ttft-ms} header's value, or -1 when absent or invalid
 */
public record FlowRequest(String fairnessId, int priority, long sizeBytes, String model, String targetModel,
                          long sloTtftMillis) {
}
