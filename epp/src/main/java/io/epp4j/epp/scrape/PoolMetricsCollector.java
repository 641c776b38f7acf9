package io.epp4j.epp.scrape;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * GAIE's pool-level gauges, computed from the {@link EndpointStore}; thread-safe.
 *
 * <p>Every {@code --refresh-prometheus-metrics-interval} (5 s) {@link #refresh()} averages the KV-cache
 * utilisation, queue size and running requests over the endpoints whose metrics are fresher than
 * {@code --metrics-staleness-threshold} (2 s), and counts them as ready pods. When no endpoint is fresh the
 * ready count drops to 0 and the averages keep their last values (GAIE skips the update). The per-pod queue
 * size is read at exposition time from every endpoint with a known queue.
 */
public final class PoolMetricsCollector implements AutoCloseable {

    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_STALENESS_THRESHOLD = Duration.ofSeconds(2);

    private final EndpointStore store;
    private final PrometheusRegistry registry;
    private final String poolName;
    private final Clock clock;
    private final long stalenessMillis;
    private final Gauge avgKvCache;
    private final Gauge avgQueue;
    private final Gauge avgRunning;
    private final Gauge readyPods;
    private final GaugeWithCallback perPodQueue;
    private ScheduledExecutorService timer;

    public PoolMetricsCollector(EndpointStore store, PrometheusRegistry registry, String poolName, Clock clock,
                                Duration stalenessThreshold) {
        this.store = store;
        this.registry = registry;
        this.poolName = poolName;
        this.clock = clock;
        this.stalenessMillis = stalenessThreshold.toMillis();
        avgKvCache = Gauge.builder().name("inference_pool_average_kv_cache_utilization")
                .help("[ALPHA] The average kv cache utilization for an inference server pool.")
                .labelNames("name").build();
        avgQueue = Gauge.builder().name("inference_pool_average_queue_size")
                .help("[ALPHA] The average number of requests pending in the model server queue.")
                .labelNames("name").build();
        avgRunning = Gauge.builder().name("inference_pool_average_running_requests")
                .help("[ALPHA] The average number of requests currently being processed by the model servers.")
                .labelNames("name").build();
        readyPods = Gauge.builder().name("inference_pool_ready_pods")
                .help("[ALPHA] The number of ready pods in the inference server pool.")
                .labelNames("name").build();
        perPodQueue = GaugeWithCallback.builder().name("inference_pool_per_pod_queue_size")
                .help("[ALPHA] The total number of requests pending in the model server queue for each "
                        + "underlying pod.")
                .labelNames("name", "model_server_pod")
                .callback(cb -> {
                    for (Endpoint e : store.snapshot()) {
                        int q = e.metrics().waitingQueueSize();
                        if (e.metrics().known() && q >= 0) {
                            cb.call(q, poolName, e.info().name());
                        }
                    }
                }).build();
        registry.register(avgKvCache);
        registry.register(avgQueue);
        registry.register(avgRunning);
        registry.register(readyPods);
        registry.register(perPodQueue);
    }

    /** Recomputes the pool averages and ready count now. */
    public void refresh() {
        long now = clock.millis();
        List<Endpoint> endpoints = store.snapshot();
        int fresh = 0;
        double kvSum = 0;
        int kvCount = 0;
        double queueSum = 0;
        int queueCount = 0;
        double runningSum = 0;
        int runningCount = 0;
        for (Endpoint e : endpoints) {
            EndpointMetrics m = e.metrics();
            if (!m.known() || now - m.scrapedAtMillis() > stalenessMillis) {
                continue;
            }
            fresh++;
            if (!Double.isNaN(m.kvCacheUsage())) {
                kvSum += m.kvCacheUsage();
                kvCount++;
            }
            if (m.waitingQueueSize() >= 0) {
                queueSum += m.waitingQueueSize();
                queueCount++;
            }
            if (m.runningRequests() >= 0) {
                runningSum += m.runningRequests();
                runningCount++;
            }
        }
        readyPods.labelValues(poolName).set(fresh);
        if (kvCount > 0) {
            avgKvCache.labelValues(poolName).set(kvSum / kvCount);
        }
        if (queueCount > 0) {
            avgQueue.labelValues(poolName).set(queueSum / queueCount);
        }
        if (runningCount > 0) {
            avgRunning.labelValues(poolName).set(runningSum / runningCount);
        }
    }

    /** Refreshes now and then every {@code interval} on a daemon thread, until {@link #close()}. */
    public synchronized PoolMetricsCollector start(Duration interval) {
        if (timer == null) {
            timer = DaemonThreads.scheduler("epp4j-pool-metrics");
            long ms = interval.toMillis();
            timer.scheduleWithFixedDelay(() -> {
                try {
                    refresh();
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(PoolMetricsCollector.class)
                            .warn("Pool metrics refresh failed", e);
                }
            }, 0, ms, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
        registry.unregister(avgKvCache);
        registry.unregister(avgQueue);
        registry.unregister(avgRunning);
        registry.unregister(readyPods);
        registry.unregister(perPodQueue);
    }
}
