package io.epp4j.spi;

import java.util.Map;
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
 * @param attributes custom scalar metrics by attribute key, as the {@code core-metrics-extractor}'s
 *     {@code engineConfigs[].customMetrics} map them (read by {@code endpoint-attribute-scorer} and
 *     {@code endpoint-attribute-filter}); empty when none is configured
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
        long scrapedAtMillis,
        Map<String, Double> attributes) {

    /** Metrics of an endpoint that was never scraped successfully. */
    public static final EndpointMetrics UNKNOWN =
            new EndpointMetrics(-1, -1, Double.NaN, Set.of(), Set.of(), -1, -1, -1, Double.NaN, 0L);

    public EndpointMetrics {
        activeAdapters = Set.copyOf(activeAdapters);
        waitingAdapters = Set.copyOf(waitingAdapters);
        attributes = Map.copyOf(attributes);
    }

    /** Metrics without custom attributes. */
    public EndpointMetrics(int waitingQueueSize, int runningRequests, double kvCacheUsage, Set<String> activeAdapters,
                           Set<String> waitingAdapters, int maxActiveAdapters, int cacheBlockSize, long cacheNumBlocks,
                           double prefixCacheHitRate, long scrapedAtMillis) {
        this(waitingQueueSize, runningRequests, kvCacheUsage, activeAdapters, waitingAdapters, maxActiveAdapters,
                cacheBlockSize, cacheNumBlocks, prefixCacheHitRate, scrapedAtMillis, Map.of());
    }

    /** These metrics with {@code attributes} as the custom attributes. */
    public EndpointMetrics withAttributes(Map<String, Double> attributes) {
        return new EndpointMetrics(waitingQueueSize, runningRequests, kvCacheUsage, activeAdapters, waitingAdapters,
                maxActiveAdapters, cacheBlockSize, cacheNumBlocks, prefixCacheHitRate, scrapedAtMillis, attributes);
    }

    /** True once at least one scrape succeeded. */
    public boolean known() {
        return scrapedAtMillis > 0;
    }
}
