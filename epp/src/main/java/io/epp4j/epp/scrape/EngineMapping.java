package io.epp4j.epp.scrape;

import io.epp4j.spi.EndpointMetrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An {@link EngineConfig} compiled into a parser plus the rules that turn its extraction into
 * {@link EndpointMetrics}; immutable and thread-safe.
 */
public final class EngineMapping {

    static final String LORA_RUNNING_LABEL = "running_lora_adapters";
    static final String LORA_WAITING_LABEL = "waiting_lora_adapters";
    static final String LORA_MAX_LABEL = "max_lora";

    private final EngineConfig config;
    private final PrometheusTextParser parser;
    private final List<String> droppedMatchers = new ArrayList<>();
    private final int queued;
    private final int running;
    private final int kvUsage;
    private final int lora;
    private final int cacheInfo;
    private final int blockSize;
    private final int numBlocks;
    private final int prefixQueries;
    private final int prefixHits;
    private final String[] customKeys;
    private final int[] customQueries;

    private EngineMapping(EngineConfig config) {
        this.config = config;
        List<SeriesQuery> queries = new ArrayList<>();
        queued = add(queries, "queuedRequestsSpec", config.queuedRequestsSpec(), List.of(), false);
        running = add(queries, "runningRequestsSpec", config.runningRequestsSpec(), List.of(), false);
        kvUsage = add(queries, "kvUsageSpec", config.kvUsageSpec(), List.of(), false);
        lora = add(queries, "loraSpec", config.loraSpec(), List.of(), true);
        List<String> cacheLabels = new ArrayList<>();
        cacheLabels.add(config.cacheBlockSizeLabelName());
        cacheLabels.add(config.cacheNumBlocksLabelName());
        cacheInfo = add(queries, "cacheInfoSpec", config.cacheInfoSpec(), cacheLabels, false);
        blockSize = add(queries, "cacheBlockSizeSpec", config.cacheBlockSizeSpec(), List.of(), false);
        numBlocks = add(queries, "cacheNumBlocksSpec", config.cacheNumBlocksSpec(), List.of(), false);
        prefixQueries = add(queries, "prefixCacheQueriesSpec", config.prefixCacheQueriesSpec(), List.of(), false);
        prefixHits = add(queries, "prefixCacheHitsSpec", config.prefixCacheHitsSpec(), List.of(), false);
        customKeys = config.customMetrics().keySet().toArray(String[]::new);
        customQueries = new int[customKeys.length];
        for (int i = 0; i < customKeys.length; i++) {
            customQueries[i] = add(queries, "customMetrics[" + customKeys[i] + "]",
                    config.customMetrics().get(customKeys[i]), List.of(), false);
        }
        parser = new PrometheusTextParser(queries);
    }

    /**
     * Compiles an engine's specs.
     *
     * @throws IllegalArgumentException naming the engine and the field of an invalid selector
     */
    public static EngineMapping compile(EngineConfig config) {
        return new EngineMapping(config);
    }

    private int add(List<SeriesQuery> queries, String field, String spec, List<String> capture, boolean all) {
        if (spec.isEmpty()) {
            return -1;
        }
        MetricSelector selector;
        try {
            selector = MetricSelector.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("engine \"" + config.name() + "\" " + field + ": " + e.getMessage(), e);
        }
        selector.droppedMatchers().forEach(m -> droppedMatchers.add(field + ": " + m));
        queries.add(new SeriesQuery(selector, capture.stream().filter(s -> !s.isEmpty()).toList(), all));
        return queries.size() - 1;
    }

    public EngineConfig config() {
        return config;
    }

    public PrometheusTextParser parser() {
        return parser;
    }

    /** Non-equality matchers that were ignored (GAIE keeps only equality matchers), for a start-up warning. */
    public List<String> droppedMatchers() {
        return List.copyOf(droppedMatchers);
    }

    /**
     * Builds the next metrics of an endpoint from one scrape. Values whose series is missing from this scrape keep
     * their previous value (GAIE's partial update); disabled metrics stay unknown.
     *
     * @param previous the endpoint's current metrics
     * @param prefixCache the endpoint's prefix-cache counter state, updated in place
     * @return the new metrics, or null when no configured series was found at all (a failed scrape)
     */
    public EndpointMetrics toMetrics(Extraction ex, EndpointMetrics previous, PrefixCacheRate prefixCache,
                                     long nowMillis) {
        boolean any = false;
        int waiting = previous.waitingQueueSize();
        if (queued >= 0 && ex.found(queued)) {
            waiting = toCount(ex.value(queued));
            any = true;
        }
        int run = previous.runningRequests();
        if (running >= 0 && ex.found(running)) {
            run = toCount(ex.value(running));
            any = true;
        }
        double kv = previous.kvCacheUsage();
        if (kvUsage >= 0 && ex.found(kvUsage)) {
            kv = ex.value(kvUsage);
            any = true;
        }
        Set<String> active = previous.activeAdapters();
        Set<String> waitingAdapters = previous.waitingAdapters();
        int maxLora = previous.maxActiveAdapters();
        if (lora >= 0 && ex.found(lora)) {
            Extraction.Series newest = null;
            for (Extraction.Series s : ex.all(lora)) {
                // The value is the series' last-update unix time: the largest is the current state.
                if (newest == null || s.value() > newest.value() || Double.isNaN(newest.value())) {
                    newest = s;
                }
            }
            if (newest != null) {
                active = adapters(newest.labels().get(LORA_RUNNING_LABEL));
                waitingAdapters = adapters(newest.labels().get(LORA_WAITING_LABEL));
                long max = parseLong(newest.labels().get(LORA_MAX_LABEL));
                if (max >= 0 && max <= Integer.MAX_VALUE) {
                    maxLora = (int) max;
                }
                any = true;
            }
        }
        int block = previous.cacheBlockSize();
        long blocks = previous.cacheNumBlocks();
        if (cacheInfo >= 0 && ex.found(cacheInfo)) {
            int i = 0;
            if (!config.cacheBlockSizeLabelName().isEmpty()) {
                long v = parseLong(ex.captured(cacheInfo, i++));
                block = v >= 0 && v <= Integer.MAX_VALUE ? (int) v : -1;
            }
            if (!config.cacheNumBlocksLabelName().isEmpty()) {
                blocks = parseLong(ex.captured(cacheInfo, i));
            }
            any = true;
        }
        if (blockSize >= 0 && ex.found(blockSize)) {
            block = toCount(ex.value(blockSize));
            any = true;
        }
        if (numBlocks >= 0 && ex.found(numBlocks)) {
            double v = ex.value(numBlocks);
            blocks = Double.isFinite(v) && v >= 0 ? (long) v : -1;
            any = true;
        }
        double hitRate = previous.prefixCacheHitRate();
        if (prefixQueries >= 0 && prefixHits >= 0 && ex.found(prefixQueries) && ex.found(prefixHits)) {
            hitRate = prefixCache.update(ex.value(prefixQueries), ex.value(prefixHits));
            any = true;
        }
        Map<String, Double> attributes = previous.attributes();
        if (customKeys.length > 0) {
            Map<String, Double> next = new LinkedHashMap<>(attributes);
            for (int i = 0; i < customKeys.length; i++) {
                if (ex.found(customQueries[i]) && !Double.isNaN(ex.value(customQueries[i]))) {
                    next.put(customKeys[i], ex.value(customQueries[i]));
                    any = true;
                }
            }
            attributes = next;
        }
        if (!any) {
            return null;
        }
        return new EndpointMetrics(waiting, run, kv, active, waitingAdapters, maxLora, block, blocks, hitRate,
                nowMillis, attributes);
    }

    static int toCount(double v) {
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            return -1;
        }
        return v >= Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) v;
    }

    /** Parses a non-negative decimal integer label value, -1 when absent or not a number. */
    static long parseLong(String s) {
        if (s == null) {
            return -1;
        }
        String t = s.strip();
        if (t.isEmpty() || t.length() > 18) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    static Set<String> adapters(String csv) {
        if (csv == null || csv.isBlank()) {
            return Set.of();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String part : csv.split(",", -1)) {
            String t = part.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }
}
