package io.epp4j.bench.sim;

import java.util.Locale;

/** How a simulated server schedules its requests ({@code --engine-model step|lanes}). */
public enum EngineModel {
    /**
     * vLLM V1's engine loop ({@link StepEngine}): continuous batching in steps under a token budget, decodes first,
     * chunked prefill, KV blocks allocated as tokens are computed, preemption by recomputation; the step time
     * grows with the tokens batched and the context attended.
     */
    STEP,
    /**
     * The earlier model ({@link LanesEngine}): one FIFO prefill lane per server, decodes slowed by a load factor
     * at a full batch but never by prefill. Kept for comparison.
     */
    LANES;

    /** {@code step} or {@code lanes}. */
    public static EngineModel parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown engine model " + s + " (step, lanes)");
        }
    }

    public String flagValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
