package io.epp4j.epp.k8s;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.fabric8.kubernetes.client.informers.ExceptionHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Makes watch trouble visible: logs when a watch is lost and when it recovers, and counts restarts, relists and
 * errors per resource. Recovery itself is the informers' job (they reconnect, and relist after 410 Gone); the
 * EndpointStore keeps the last known endpoints meanwhile, because nothing here clears it.
 */
final class WatchMonitor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WatchMonitor.class);

    private final Clock clock;
    private final Counter restarts;
    private final Counter relists;
    private final Counter errors;
    private final Map<String, Watched> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService checker;

    private static final class Watched {
        final SharedIndexInformer<?> informer;
        boolean everWatching;
        volatile boolean watching;
        Instant lostAt;
        volatile int lists;
        volatile boolean failing;

        Watched(SharedIndexInformer<?> informer) {
            this.informer = informer;
        }
    }

    WatchMonitor(PrometheusRegistry registry, Clock clock, Duration checkInterval) {
        this.clock = clock;
        this.restarts = Counter.builder().name("epp4j_kubernetes_watch_restarts_total")
                .help("Watches re-established after being lost (API server restart, connection drop, expiry)")
                .labelNames("resource").register(registry);
        this.relists = Counter.builder().name("epp4j_kubernetes_relists_total")
                .help("Full relists after the initial list (e.g. after 410 Gone)")
                .labelNames("resource").register(registry);
        this.errors = Counter.builder().name("epp4j_kubernetes_watch_errors_total")
                .help("Failed list or watch attempts; the informer retries with backoff")
                .labelNames("resource").register(registry);
        this.checker = DaemonThreads.scheduler("epp4j-watch-monitor");
        long periodMillis = Math.max(10, checkInterval.toMillis());
        checker.scheduleWithFixedDelay(this::check, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    /** Registers an informer before it is started. */
    void watch(String resource, SharedIndexInformer<?> informer) {
        watched.put(resource, new Watched(informer));
        informer.exceptionHandler(exceptionHandler(resource));
    }

    /** Called from the informer's onList: the first list is the start, later ones are relists. */
    void listed(String resource) {
        Watched w = watched.get(resource);
        if (w == null) {
            return;
        }
        w.lists++;
        if (w.lists > 1) {
            relists.labelValues(resource).inc();
            LOG.info("Kubernetes: relisted {} (watch expired or reconnected)", resource);
        }
        if (w.failing) {
            w.failing = false;
            LOG.info("Kubernetes: listing {} works again", resource);
        }
    }

    /** Always retry: a missing API server or pool CRD must not stop the informer (no crash loop). */
    private ExceptionHandler exceptionHandler(String resource) {
        return (started, t) -> {
            errors.labelValues(resource).inc();
            Watched w = watched.get(resource);
            if (w != null && !w.failing) {
                w.failing = true;
                LOG.warn("Kubernetes: list/watch of {} failed ({}); retrying with backoff, last known state kept",
                        resource, t.toString());
            }
            return true;
        };
    }

    /** What the last check saw of the resource's watch (the restart count moves only on a change it sees). */
    boolean lastSeenWatching(String resource) {
        Watched w = watched.get(resource);
        return w != null && w.watching;
    }

    double restartCount(String resource) {
        return restarts.labelValues(resource).get();
    }

    double relistCount(String resource) {
        return relists.labelValues(resource).get();
    }

    private void check() {
        try {
            for (Map.Entry<String, Watched> e : watched.entrySet()) {
                Watched w = e.getValue();
                boolean now = isWatching(w.informer);
                if (now == w.watching) {
                    continue;
                }
                w.watching = now;
                if (!now) {
                    w.lostAt = clock.instant();
                    LOG.warn("Kubernetes: watch on {} lost; keeping the last known state until it recovers",
                            e.getKey());
                } else if (w.everWatching) {
                    restarts.labelValues(e.getKey()).inc();
                    Duration down = w.lostAt == null ? Duration.ZERO : Duration.between(w.lostAt, clock.instant());
                    LOG.info("Kubernetes: watch on {} recovered after {} ms", e.getKey(), down.toMillis());
                } else {
                    w.everWatching = true;
                }
            }
        } catch (RuntimeException ex) {
            LOG.warn("Kubernetes: watch check failed", ex);
        }
    }

    /**
     * The informer's own {@code isWatching()}, except that fabric8 8.0.0 throws a NullPointerException from it
     * while a watch is being torn down (Reflector: {@code Optional.of(watchFuture)} with a null future); that
     * moment counts as not watching.
     */
    static boolean isWatching(SharedIndexInformer<?> informer) {
        try {
            return informer.isWatching();
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        checker.shutdownNow();
    }
}
