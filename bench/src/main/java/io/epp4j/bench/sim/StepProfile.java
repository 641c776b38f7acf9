package io.epp4j.bench.sim;

import java.util.List;
import java.util.Locale;

/**
 * The cost model of the {@link EngineModel#STEP step} engine: how long one engine step takes for what it batches,
 * and the engine limits that go with the hardware. Calibrated profiles and their sources:
 * {@code bench/results/simulator-calibration.md}.
 *
 * <p>{@code step ms = stepOverheadMs + perTokenMs × batched tokens + decodeContextMsPer1k × (Σ context tokens of
 * the decoding sequences) / 1000 + prefillAttentionMsPerMPairs × (Σ over prefill chunks of chunk × (offset +
 * chunk / 2)) / 10⁶ + loraLoadMs × adapters loaded in this step}. The terms are the fixed cost of a step (weights
 * read once, CPU scheduling, kernel launches), the linear layers per token, decode attention reading each
 * sequence's KV cache, and prefill attention, which grows with the square of the prompt.
 *
 * @param name the profile's name ({@code --engine-profile})
 * @param stepOverheadMs fixed cost of a step
 * @param perTokenMs cost per batched token (prefill or decode)
 * @param decodeContextMsPer1k cost per 1,000 tokens of context of each decoding sequence
 * @param prefillAttentionMsPerMPairs cost per million (query token, context token) pairs of prefill attention
 * @param maxNumBatchedTokens the step's token budget (vLLM {@code max_num_batched_tokens})
 * @param maxNumSeqs running sequences at most (vLLM {@code max_num_seqs})
 * @param kvBlocks KV-cache blocks of 16 tokens the profile's GPUs hold
 * @param loraLoadMs loading an adapter that is not resident on the GPU
 * @param kvTransferSetupMs fixed cost of moving a prompt's KV cache to another pod (for prefill/decode)
 * @param kvTransferMsPerToken the same, per prompt token transferred
 */
public record StepProfile(String name, double stepOverheadMs, double perTokenMs, double decodeContextMsPer1k,
                          double prefillAttentionMsPerMPairs, int maxNumBatchedTokens, int maxNumSeqs,
                          int kvBlocks, double loraLoadMs, double kvTransferSetupMs, double kvTransferMsPerToken) {

    /** Llama-3.1-8B (bf16) on one H100 80 GB. */
    public static final StepProfile H100_8B = new StepProfile("h100-8b", 5.5, 0.035, 0.045, 1.3, 8192, 256,
            25_000, 15, 1.0, 0.003);

    /** Llama-3.1-70B (bf16) on four H100 80 GB, tensor parallel. */
    public static final StepProfile H100X4_70B = new StepProfile("h100x4-70b", 14, 0.075, 0.03, 1.7, 8192, 256,
            25_000, 25, 2.0, 0.008);

    public static final List<StepProfile> ALL = List.of(H100_8B, H100X4_70B);

    public StepProfile {
        if (maxNumBatchedTokens < 1 || maxNumSeqs < 1 || kvBlocks < 1 || stepOverheadMs < 0 || perTokenMs < 0
                || decodeContextMsPer1k < 0 || prefillAttentionMsPerMPairs < 0 || loraLoadMs < 0) {
            throw new IllegalArgumentException("step profile values must be positive");
        }
    }

    /** A profile by name. */
    public static StepProfile named(String name) {
        for (StepProfile p : ALL) {
            if (p.name.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown engine profile " + name + " ("
                + String.join(", ", ALL.stream().map(StepProfile::name).toList()) + ")");
    }

    /**
     * Milliseconds of one step.
     *
     * @param batchedTokens tokens computed in the step
     * @param decodeContextTokens sum of the decoding sequences' context lengths
     * @param prefillPairs sum over prefill chunks of chunk × (offset + chunk / 2)
     * @param loraLoads adapters loaded in the step
     */
    public double stepMs(long batchedTokens, long decodeContextTokens, double prefillPairs, int loraLoads) {
        return stepOverheadMs + perTokenMs * batchedTokens + decodeContextMsPer1k * decodeContextTokens / 1000.0
                + prefillAttentionMsPerMPairs * prefillPairs / 1e6 + loraLoadMs * loraLoads;
    }

    /**
     * Milliseconds to prefill {@code uncached} prompt tokens after {@code cached} ones on an idle engine: chunks of
     * at most {@link #maxNumBatchedTokens}, one step each, the first token at the end of the last.
     */
    public double idlePrefillMs(int cached, int uncached) {
        double ms = 0;
        int offset = cached;
        int left = Math.max(1, uncached);
        while (left > 0) {
            int chunk = Math.min(left, maxNumBatchedTokens);
            ms += stepMs(chunk, 0, chunk * (offset + chunk / 2.0), 0);
            offset += chunk;
            left -= chunk;
        }
        return ms;
    }

    /** Milliseconds of a step with {@code batch} decoding sequences of {@code context} tokens each, alone. */
    public double decodeStepMs(int batch, int context) {
        return stepMs(batch, (long) batch * context, 0, 0);
    }

    /** Moving the KV cache of {@code tokens} prompt tokens from a prefill pod to a decode pod. */
    public double kvTransferMs(int tokens) {
        return kvTransferSetupMs + kvTransferMsPerToken * tokens;
    }
}
