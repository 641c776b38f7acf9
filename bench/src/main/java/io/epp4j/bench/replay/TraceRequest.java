package io.epp4j.bench.replay;

/**
 * One request of a workload.
 *
 * @param arrivalMs arrival time in simulated milliseconds from the start
 * @param model the request's {@code model} (a base model or a LoRA adapter)
 * @param prompt prompt text (4 characters ≈ 1 token)
 * @param outputTokens tokens to generate ({@code max_tokens}, {@code ignore_eos})
 */
public record TraceRequest(long arrivalMs, String model, String prompt, int outputTokens) {
}
