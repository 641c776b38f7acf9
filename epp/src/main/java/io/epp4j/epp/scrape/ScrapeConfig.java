package io.epp4j.epp.scrape;

import io.epp4j.spi.PluginParameters;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How model servers are scraped: GAIE's {@code metrics-data-source} (scheme, path, insecureSkipVerify) and
 * {@code core-metrics-extractor} (engine label, default engine, engine mappings) plugin parameters, plus the
 * loop timing; immutable.
 *
 * @param scheme {@code http} or {@code https}
 * @param path the metrics path, starting with '/'
 * @param insecureSkipVerify for https: trust any certificate and host name (GAIE's default: true)
 * @param interval time between the starts of two scrapes of one endpoint ({@code --refresh-metrics-interval})
 * @param timeout limit of one scrape, connect to last body byte
 * @param engineLabelKey pod label naming the endpoint's engine
 * @param defaultEngine engine of endpoints without (or with an unknown) engine label
 * @param engines engine mappings by name (built-ins, replaced or extended by the user's)
 * @param maxConcurrentScrapes scrapes in flight at once across all endpoints (bounds threads and sockets)
 * @param maxBodyBytes a larger body fails the scrape
 */
public record ScrapeConfig(
        String scheme,
        String path,
        boolean insecureSkipVerify,
        Duration interval,
        Duration timeout,
        String engineLabelKey,
        String defaultEngine,
        Map<String, EngineConfig> engines,
        int maxConcurrentScrapes,
        int maxBodyBytes) {

    public static final String DEFAULT_ENGINE_LABEL_KEY = "inference.networking.k8s.io/engine-type";
    public static final Duration DEFAULT_INTERVAL = Duration.ofMillis(50);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_MAX_CONCURRENT_SCRAPES = 128;
    public static final int DEFAULT_MAX_BODY_BYTES = 16 << 20;

    private static final Set<String> DATA_SOURCE_KEYS = Set.of("scheme", "path", "insecureSkipVerify");
    private static final Set<String> EXTRACTOR_KEYS = Set.of("engineLabelKey", "defaultEngine", "engineConfigs");
    private static final List<String> ENGINE_KEYS = List.of("name", "queuedRequestsSpec", "runningRequestsSpec",
            "kvUsageSpec", "loraSpec", "cacheInfoSpec", "cacheBlockSizeLabelName", "cacheNumBlocksLabelName",
            "cacheBlockSizeSpec", "cacheNumBlocksSpec", "prefixCacheQueriesSpec", "prefixCacheHitsSpec",
            "customMetrics");

    public ScrapeConfig {
        scheme = scheme.toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("metrics scheme must be http or https, got \"" + scheme + "\"");
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("metrics path must start with '/', got \"" + path + "\"");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("refresh-metrics-interval must be positive, got " + interval);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("scrape timeout must be positive, got " + timeout);
        }
        if (engineLabelKey.isEmpty()) {
            engineLabelKey = DEFAULT_ENGINE_LABEL_KEY;
        }
        engines = Collections.unmodifiableMap(new LinkedHashMap<>(engines));
        for (Map.Entry<String, EngineConfig> e : engines.entrySet()) {
            if (e.getKey().isEmpty() || !e.getKey().equals(e.getValue().name())) {
                throw new IllegalArgumentException("engine config keyed \"" + e.getKey() + "\" is named \""
                        + e.getValue().name() + "\"");
            }
            if (e.getKey().equals(EngineConfig.RESERVED_NAME)) {
                throw new IllegalArgumentException("engine config name cannot be \"default\" (reserved)");
            }
            EngineMapping.compile(e.getValue());
        }
        if (!engines.containsKey(defaultEngine)) {
            throw new IllegalArgumentException("defaultEngine \"" + defaultEngine
                    + "\" not found in engineConfigs (known: " + String.join(", ", engines.keySet()) + ")");
        }
        if (maxConcurrentScrapes < 1) {
            throw new IllegalArgumentException("maxConcurrentScrapes must be >= 1");
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be >= 1");
        }
    }

    /** GAIE's defaults: http, /metrics, insecureSkipVerify, 50 ms, 1 s timeout, the four built-in engines, vllm. */
    public static ScrapeConfig defaults() {
        return new ScrapeConfig("http", "/metrics", true, DEFAULT_INTERVAL, DEFAULT_TIMEOUT,
                DEFAULT_ENGINE_LABEL_KEY, EngineConfig.VLLM, EngineConfig.builtIns(),
                DEFAULT_MAX_CONCURRENT_SCRAPES, DEFAULT_MAX_BODY_BYTES);
    }

    public ScrapeConfig withInterval(Duration newInterval) {
        return new ScrapeConfig(scheme, path, insecureSkipVerify, newInterval, timeout, engineLabelKey,
                defaultEngine, engines, maxConcurrentScrapes, maxBodyBytes);
    }

    public ScrapeConfig withTimeout(Duration newTimeout) {
        return new ScrapeConfig(scheme, path, insecureSkipVerify, interval, newTimeout, engineLabelKey,
                defaultEngine, engines, maxConcurrentScrapes, maxBodyBytes);
    }

    public ScrapeConfig withEndpointAccess(String newScheme, String newPath, boolean newInsecureSkipVerify) {
        return new ScrapeConfig(newScheme, newPath, newInsecureSkipVerify, interval, timeout, engineLabelKey,
                defaultEngine, engines, maxConcurrentScrapes, maxBodyBytes);
    }

    public ScrapeConfig withMaxConcurrentScrapes(int max) {
        return new ScrapeConfig(scheme, path, insecureSkipVerify, interval, timeout, engineLabelKey,
                defaultEngine, engines, max, maxBodyBytes);
    }

    /**
     * Builds a config from the plugin parameters as a YAML loader produces them (null = plugin absent, all
     * defaults). Validation is strict: an unknown key, a wrong type or an invalid selector is an error that
     * names it.
     *
     * @param dataSourceParams {@code metrics-data-source} parameters: scheme, path, insecureSkipVerify
     * @param extractorParams {@code core-metrics-extractor} parameters: engineLabelKey, defaultEngine,
     *     engineConfigs
     * @param interval {@code --refresh-metrics-interval}
     * @throws IllegalArgumentException describing the first problem found
     */
    public static ScrapeConfig fromParameters(Map<String, Object> dataSourceParams,
                                              Map<String, Object> extractorParams, Duration interval) {
        Map<String, Object> ds = dataSourceParams == null ? Map.of() : dataSourceParams;
        Map<String, Object> ex = extractorParams == null ? Map.of() : extractorParams;
        checkKeys("metrics-data-source", ds, DATA_SOURCE_KEYS);
        checkKeys("core-metrics-extractor", ex, EXTRACTOR_KEYS);
        String scheme = string("metrics-data-source", ds, "scheme", "http");
        String path = string("metrics-data-source", ds, "path", "/metrics");
        boolean insecure = bool("metrics-data-source", ds, "insecureSkipVerify", true);
        String labelKey = string("core-metrics-extractor", ex, "engineLabelKey", DEFAULT_ENGINE_LABEL_KEY);
        String defaultEngine = string("core-metrics-extractor", ex, "defaultEngine", EngineConfig.VLLM);
        if (defaultEngine.isEmpty()) {
            defaultEngine = EngineConfig.VLLM;
        }
        Map<String, EngineConfig> builtIns = EngineConfig.builtIns();
        Map<String, EngineConfig> engines = new LinkedHashMap<>();
        Object list = ex.get("engineConfigs");
        if (list != null) {
            if (!(list instanceof List<?> entries)) {
                throw new IllegalArgumentException("core-metrics-extractor: engineConfigs must be a list, got "
                        + typeName(list));
            }
            int index = 0;
            for (Object entry : entries) {
                String where = "core-metrics-extractor: engineConfigs[" + index++ + "]";
                if (!(entry instanceof Map<?, ?> raw)) {
                    throw new IllegalArgumentException(where + " must be a map, got " + typeName(entry));
                }
                Map<String, Object> m = new LinkedHashMap<>();
                raw.forEach((k, v) -> m.put(String.valueOf(k), v));
                checkKeys(where, m, Set.copyOf(ENGINE_KEYS));
                String name = string(where, m, "name", "");
                if (name.isEmpty()) {
                    throw new IllegalArgumentException(where + ": engine config name cannot be empty");
                }
                if (name.equals(EngineConfig.RESERVED_NAME)) {
                    throw new IllegalArgumentException(where + ": engine config name cannot be \"default\" (reserved)");
                }
                if (engines.containsKey(name)) {
                    throw new IllegalArgumentException(where + ": duplicate engine config \"" + name + "\"");
                }
                // GAIE replaces a built-in wholesale; only epp4j's own keys (unknown to GAIE configs) are inherited.
                EngineConfig base = builtIns.get(name);
                String baseQueries = base == null ? "" : base.prefixCacheQueriesSpec();
                String baseHits = base == null ? "" : base.prefixCacheHitsSpec();
                EngineConfig c = new EngineConfig(name,
                        string(where, m, "queuedRequestsSpec", ""),
                        string(where, m, "runningRequestsSpec", ""),
                        string(where, m, "kvUsageSpec", ""),
                        string(where, m, "loraSpec", ""),
                        string(where, m, "cacheInfoSpec", ""),
                        string(where, m, "cacheBlockSizeLabelName", ""),
                        string(where, m, "cacheNumBlocksLabelName", ""),
                        string(where, m, "cacheBlockSizeSpec", ""),
                        string(where, m, "cacheNumBlocksSpec", ""),
                        string(where, m, "prefixCacheQueriesSpec", baseQueries),
                        string(where, m, "prefixCacheHitsSpec", baseHits),
                        customMetrics(where, m.get("customMetrics")));
                try {
                    EngineMapping.compile(c);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
                }
                engines.put(name, c);
            }
        }
        builtIns.forEach(engines::putIfAbsent);
        return new ScrapeConfig(scheme, path, insecure, interval == null ? DEFAULT_INTERVAL : interval,
                DEFAULT_TIMEOUT, labelKey, defaultEngine, engines, DEFAULT_MAX_CONCURRENT_SCRAPES,
                DEFAULT_MAX_BODY_BYTES);
    }

    /** {@code customMetrics: [{attributeKey, metricSpec}]} as attribute key → selector. */
    private static Map<String, String> customMetrics(String where, Object list) {
        if (list == null) {
            return Map.of();
        }
        if (!(list instanceof List<?> entries)) {
            throw new IllegalArgumentException(where + ": customMetrics must be a list, got " + typeName(list));
        }
        Map<String, String> out = new LinkedHashMap<>();
        int index = 0;
        for (Object entry : entries) {
            String at = where + ".customMetrics[" + index++ + "]";
            if (!(entry instanceof Map<?, ?> raw)) {
                throw new IllegalArgumentException(at + " must be a map, got " + typeName(entry));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            raw.forEach((k, v) -> m.put(String.valueOf(k), v));
            checkKeys(at, m, Set.of("attributeKey", "metricSpec"));
            String key = string(at, m, "attributeKey", "");
            String spec = string(at, m, "metricSpec", "");
            if (key.isEmpty() || spec.isEmpty()) {
                throw new IllegalArgumentException(at + ": attributeKey and metricSpec are required");
            }
            if (out.put(key, spec) != null) {
                throw new IllegalArgumentException(at + ": duplicate attributeKey \"" + key + "\"");
            }
        }
        return out;
    }

    private static void checkKeys(String where, Map<String, Object> params, Set<String> allowed) {
        for (String key : params.keySet()) {
            if (!allowed.contains(key)) {
                throw new IllegalArgumentException(where + ": unknown parameter \"" + key + "\" (allowed: "
                        + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String string(String where, Map<String, Object> params, String key, String fallback) {
        Object v = params.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException(where + ": " + key + " must be a string, got " + typeName(v));
        }
        return s.strip();
    }

    private static boolean bool(String where, Map<String, Object> params, String key, boolean fallback) {
        try {
            return new PluginParameters(params).getBoolean(key, fallback);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + key + " must be true or false, got " + params.get(key));
        }
    }

    private static String typeName(Object v) {
        return v == null ? "null" : v.getClass().getSimpleName();
    }

    /** The mapping for an endpoint's engine label value (absent, empty or unknown → the default engine). */
    String engineFor(Map<String, String> podLabels) {
        String v = podLabels.get(engineLabelKey);
        return v != null && engines.containsKey(v) ? v : defaultEngine;
    }
}
