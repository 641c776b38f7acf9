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

    /**
     * Llama-3.1-8B (bf16) on one H100 80 GB, {@code vllm serve} defaults (8,192 batched tokens, 1,024 sequences):
     * 8 ms a step (weights read once, CPU), 0.022 ms a token (linear layers), 0.055 ms per 1,000 tokens of decode
     * context (KV read at 70% of 3.35 TB/s), 1.2 ms per million prefill attention pairs, 28,000 KV blocks.
     */
    public static final StepProfile H100_8B = new StepProfile("h100-8b", 8.0, 0.022, 0.055, 1.2, 8192, 1024,
            28_000, 3, 1.0, 0.003);

    /** Llama-3.1-70B (bf16) on four H100 80 GB, tensor parallel 4: 30,250 KV blocks. */
    public static final StepProfile H100X4_70B = new StepProfile("h100x4-70b", 20.0, 0.066, 0.035, 1.5, 8192, 1024,
            30_250, 3, 1.0, 0.008);

    /** Llama-3.1-70B (bf16) on eight H100 80 GB, tensor parallel 8: 87,000 KV blocks. */
    public static final StepProfile H100X8_70B = new StepProfile("h100x8-70b", 13.0, 0.042, 0.018, 0.75, 8192,
            1024, 87_000, 3, 1.0, 0.008);

    public static final List<StepProfile> ALL = List.of(H100_8B, H100X4_70B, H100X8_70B);

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
