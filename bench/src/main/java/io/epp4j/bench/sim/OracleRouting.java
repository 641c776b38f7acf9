package io.epp4j.bench.sim;

import java.util.Arrays;
import java.util.List;

/**
 * The time to first token a router that knows everything would get on the replay's simulated fleet: a yardstick
 * that tells how much of a replayed policy's TTFT is routing and how much is the workload itself.
 *
 * <p>Each pod is the simulator's model of prefill: one FIFO lane (a prefill waits for the ones sent there
 * before it) costing {@code overhead + per-token cost x uncached prompt tokens}, and the simulator's own
 * {@link PrefixCache} of {@code kvBlocks} blocks. Requests are taken in arrival order and each goes to the pod
 * where its first token would come soonest, knowing exactly what every pod has cached and what its lane still
 * holds. That is the best choice one request at a time, not the best schedule (keeping a pod free for short
 * requests still to come can beat it). Left out, so the figure is optimistic: decode slots
 * ({@code max-num-seqs}), jitter, routing time, blocks pinned by running requests and the LoRA slot limit.
 */
public final class OracleRouting {

    /** One request: when it arrives (simulated ms), the model or adapter it names, its prompt text. */
    public record Arrival(long arrivalMs, String model, String prompt) {
    }

    /**
     * What the oracle got.
     *
     * @param ttftMs every served request's TTFT in simulated ms, in arrival order
     * @param prefixCacheHitRate cached prompt tokens over all prompt tokens of served requests
     * @param rejected requests longer than a pod's whole KV cache (the simulator answers those 400)
     */
    public record Result(double[] ttftMs, double prefixCacheHitRate, int rejected) {
    }

    private OracleRouting() {
    }

    /** Routes {@code arrivals} (sorted by arrival) over {@code pods} pods configured like {@code config}. */
    public static Result route(List<Arrival> arrivals, SimConfig config, int pods) {
        if (pods < 1) {
            throw new IllegalArgumentException("pods must be >= 1");
        }
        PrefixCache[] caches = new PrefixCache[pods];
        double[] laneFreeAtMs = new double[pods];
        for (int p = 0; p < pods; p++) {
            caches[p] = new PrefixCache(config.kvBlocks());
        }
        double[] ttfts = new double[arrivals.size()];
        int served = 0;
        long promptTokens = 0;
        long cachedTokens = 0;
        for (Arrival a : arrivals) {
            // an adapter's requests have their own cache namespace, as in the simulator
            long[] hashes = PrefixCache.blockHashes(a.model(), a.prompt(), config.blockSize());
            if (hashes.length > config.kvBlocks()) {
                continue;
            }
            int tokens = Math.max(1, (a.prompt().length() + SimConfig.CHARS_PER_TOKEN - 1)
                    / SimConfig.CHARS_PER_TOKEN);
            int best = -1;
            double bestTtft = Double.MAX_VALUE;
            int bestCached = 0;
            for (int p = 0; p < pods; p++) {
                int cached = Math.min(tokens, caches[p].cachedPrefix(hashes) * config.blockSize());
                double ttft = Math.max(0, laneFreeAtMs[p] - a.arrivalMs()) + prefillMs(config, tokens - cached);
                if (ttft < bestTtft) {
                    best = p;
                    bestTtft = ttft;
                    bestCached = cached;
                }
            }
            laneFreeAtMs[best] = a.arrivalMs() + bestTtft;
            // the prompt's blocks become the pod's most recently used; nothing stays pinned
            caches[best].release(caches[best].allocate(hashes, 0));
            ttfts[served++] = bestTtft;
            promptTokens += tokens;
            cachedTokens += bestCached;
        }
        return new Result(Arrays.copyOf(ttfts, served),
                promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens, arrivals.size() - served);
    }

    private static double prefillMs(SimConfig config, int uncachedTokens) {
        return config.prefillOverheadMs() + uncachedTokens * config.prefillPerTokenMs();
    }
}
