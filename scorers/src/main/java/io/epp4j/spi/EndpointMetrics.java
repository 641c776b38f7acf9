package io.epp4j.spi;

import java.util.Set;

/**
 * The model-server metrics of one endpoint as last scraped; immutable, safe to share between threads.
 *
 * <p>A failed scrape keeps the previous values, so {@link #scrapedAtMillis()} ages; plugins that care about
 * freshness compare it with their injected clock. Unknown values are {@code -1} (counts), {@code NaN} (ratios),
 * or empty sets.
 *
 * @param waitingQueueSize requests waiting in the model server's queue, or -1 if unknown
 * @param runningRequests requests in the running batch, or -1 if unknown
 * @param kvCacheUsage KV-cache utilisation in [0,1], or NaN if unknown
 * @param activeAdapters LoRA adapters currently loaded and running
 * @param waitingAdapters LoRA adapters requested by waiting requests
 * @param maxActiveAdapters the model server's LoRA slot limit, or -1 if unknown
 * @param cacheBlockSize tokens per KV-cache block (vLLM {@code block_size}), or -1 if unknown
 * @param cacheNumBlocks KV-cache blocks on the GPU (vLLM {@code num_gpu_blocks}), or -1 if unknown
 * @param prefixCacheHitRate prefix-cache hits / queries (in tokens) over the last scrape interval, or NaN
 * @param scrapedAtMillis wall-clock time of the scrape that produced these values, 0 if never scraped
 */
public record EndpointMetrics(
        int waitingQueueSize,
        int runningRequests,
        double kvCacheUsage,
        Set<String> activeAdapters,
        Set<String> waitingAdapters,
        int maxActiveAdapters,
        int cacheBlockSize,
        long cacheNumBlocks,
        double prefixCacheHitRate,
        long scrapedAtMillis) {

    /** Metrics of an endpoint that was never scraped successfully. */
    public static final EndpointMetrics UNKNOWN =
            new EndpointMetrics(-1, -1, Double.NaN, Set.of(), Set.of(), -1, -1, -1, Double.NaN, 0L);

    public EndpointMetrics {
        activeAdapters = Set.copyOf(activeAdapters);
        waitingAdapters = Set.copyOf(waitingAdapters);
    }

    /** True once at least one scrape succeeded. */
    public boolean known() {
        return scrapedAtMillis > 0;
    }
}
