package io.epp4j.bench.replay;

import java.util.Map;

/**
 * One request of a workload.
 *
 * @param arrivalMs arrival time in simulated milliseconds from the start
 * @param model the request's {@code model} (a base model or a LoRA adapter)
 * @param prompt prompt text (4 characters ≈ 1 token)
 * @param outputTokens tokens to generate ({@code max_tokens}, {@code ignore_eos})
 * @param headers request headers the client sends besides the usual ones (e.g. the objective and fairness id of
 *     {@code gen:tenants}), lower-case names
 */
public record TraceRequest(long arrivalMs, String model, String prompt, int outputTokens,
                           Map<String, String> headers) {

    public TraceRequest {
        headers = Map.copyOf(headers);
    }

    /** A request without extra headers. */
    public TraceRequest(long arrivalMs, String model, String prompt, int outputTokens) {
        this(arrivalMs, model, prompt, outputTokens, Map.of());
    }
}
