package io.epp4j.epp.scrape;

import io.epp4j.epp.datastore.EndpointStore;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything the EPP runs for model-server metrics, started and closed together: the {@link MetricsScraper}
 * (per-endpoint scrape loops) and the {@link PoolMetricsCollector} (GAIE's {@code inference_pool_*} gauges).
 */
public final class ModelServerMetrics implements AutoCloseable {

    private final MetricsScraper scraper;
    private final PoolMetricsCollector pool;

    private ModelServerMetrics(MetricsScraper scraper, PoolMetricsCollector pool) {
        this.scraper = scraper;
        this.pool = pool;
    }

    /**
     * Starts scraping every endpoint of the store and refreshing the pool gauges.
     *
     * @param poolName the {@code name} label of the pool gauges
     * @param poolRefreshInterval {@code --refresh-prometheus-metrics-interval}
     * @param stalenessThreshold {@code --metrics-staleness-threshold}
     */
    public static ModelServerMetrics start(EndpointStore store, ScrapeConfig config, PrometheusRegistry registry,
                                           Clock clock, String poolName, Duration poolRefreshInterval,
                                           Duration stalenessThreshold) {
        MetricsScraper scraper = new MetricsScraper(store, config, registry, clock);
        PoolMetricsCollector pool;
        try {
            pool = new PoolMetricsCollector(store, registry, poolName, clock, stalenessThreshold);
        } catch (RuntimeException e) {
            scraper.close();
            throw e;
        }
        scraper.start();
        pool.start(poolRefreshInterval);
        return new ModelServerMetrics(scraper, pool);
    }

    /** Starts with the flags' settings; plugin parameters (either map may be empty) override deprecated flags. */
    public static ModelServerMetrics start(ScrapeOptions options, EndpointStore store, PrometheusRegistry registry,
                                           Clock clock, Map<String, Object> dataSourceParams,
                                           Map<String, Object> extractorParams) {
        return start(store, config(options, dataSourceParams, extractorParams), registry, clock,
                poolLabel(options.poolName(), System.getenv("POD_NAME")), options.poolRefreshInterval(),
                options.stalenessThreshold());
    }

    /**
     * The pool gauges' {@code name} label: --pool-name, else (standalone mode, like GAIE) the Deployment name
     * derived from the EPP's own pod name {@code <deployment>-<hash>-<id>}, else "".
     */
    static String poolLabel(String poolName, String podName) {
        if (poolName != null && !poolName.isEmpty()) {
            return poolName;
        }
        if (podName != null) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(.+)-[a-z0-9]+-[a-z0-9]+$").matcher(podName);
            if (m.matches()) {
                return m.group(1);
            }
        }
        return "";
    }

    /**
     * The scrape config from flags and plugin parameters, with GAIE's precedence: built-in default &lt;
     * deprecated {@code --model-server-metrics-*} flag (only if given) &lt; {@code metrics-data-source} parameter.
     *
     * @throws IllegalArgumentException for invalid parameters, naming the offending key
     */
    public static ScrapeConfig config(ScrapeOptions options, Map<String, Object> dataSourceParams,
                                      Map<String, Object> extractorParams) {
        Map<String, Object> ds = new LinkedHashMap<>();
        if (options.scheme() != null) {
            ds.put("scheme", options.scheme());
        }
        if (options.path() != null) {
            ds.put("path", options.path());
        }
        if (options.insecureSkipVerify() != null) {
            ds.put("insecureSkipVerify", options.insecureSkipVerify());
        }
        if (options.portGiven()) {
            LoggerFactory.getLogger(ModelServerMetrics.class).warn(
                    "--model-server-metrics-port is deprecated and not supported: metrics are scraped on each "
                            + "endpoint's own port");
        }
        if (dataSourceParams != null) {
            ds.putAll(dataSourceParams);
        }
        return ScrapeConfig.fromParameters(ds, extractorParams, options.refreshInterval());
    }

    public MetricsScraper scraper() {
        return scraper;
    }

    public PoolMetricsCollector pool() {
        return pool;
    }

    @Override
    public void close() {
        try {
            pool.close();
        } finally {
            scraper.close();
        }
    }
}
