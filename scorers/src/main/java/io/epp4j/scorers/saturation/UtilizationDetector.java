package io.epp4j.scorers.saturation;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SaturationDetector;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code utilization-detector} (the default saturation detector). Saturation = average over endpoints of
 * {@code max(queue/queueDepthThreshold, kv/kvCacheUtilThreshold)}; missing or stale metrics count 1.0; no endpoints
 * ⇒ 1.0. As a filter (only when placed in a profile) it keeps endpoints with fresh metrics below
 * {@code threshold × (1 + headroom)}, or all of them when none qualifies. Parameters {@code queueDepthThreshold}
 * (5), {@code kvCacheUtilThreshold} (0.8), {@code metricsStalenessThreshold} (200ms), {@code headroom} (0).
 */
public final class UtilizationDetector extends NamedPlugin implements SaturationDetector, Filter {

    public static final String TYPE = "utilization-detector";

    private final int queueDepthThreshold;
    private final double kvCacheUtilThreshold;
    private final long stalenessMillis;
    private final double headroom;
    private final Clock clock;

    public UtilizationDetector(String name, PluginParameters parameters, Clock clock) {
        super(TYPE, name);
        this.queueDepthThreshold = parameters.getInt("queueDepthThreshold", 5);
        this.kvCacheUtilThreshold = parameters.getDouble("kvCacheUtilThreshold", 0.8);
        Duration staleness = parameters.getDuration("metricsStalenessThreshold", Duration.ofMillis(200));
        this.stalenessMillis = staleness.toMillis();
        this.headroom = parameters.getDouble("headroom", 0.0);
        this.clock = clock;
        if (queueDepthThreshold <= 0) {
            throw new IllegalArgumentException("parameter 'queueDepthThreshold' must be > 0");
        }
        if (!(kvCacheUtilThreshold > 0 && kvCacheUtilThreshold <= 1)) {
            throw new IllegalArgumentException("parameter 'kvCacheUtilThreshold' must be in (0,1]");
        }
        if (staleness.isZero() || staleness.isNegative()) {
            throw new IllegalArgumentException("parameter 'metricsStalenessThreshold' must be > 0");
        }
        if (headroom < 0) {
            throw new IllegalArgumentException("parameter 'headroom' must be >= 0");
        }
    }

    @Override
    public double saturation(List<Endpoint> endpoints) {
        int n = endpoints.size();
        if (n == 0) {
            return 1.0;
        }
        long now = clock.millis();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            EndpointMetrics m = endpoints.get(i).metrics();
            if (!fresh(m, now) || m.waitingQueueSize() < 0 || Double.isNaN(m.kvCacheUsage())) {
                sum += 1.0;
            } else {
                sum += Math.max((double) m.waitingQueueSize() / queueDepthThreshold,
                        m.kvCacheUsage() / kvCacheUtilThreshold);
            }
        }
        return sum / n;
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        long now = clock.millis();
        double queueLimit = queueDepthThreshold * (1 + headroom);
        double kvLimit = kvCacheUtilThreshold * (1 + headroom);
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            EndpointMetrics m = e.metrics();
            if (fresh(m, now) && m.waitingQueueSize() >= 0 && m.waitingQueueSize() < queueLimit
                    && !Double.isNaN(m.kvCacheUsage()) && m.kvCacheUsage() < kvLimit) {
                out.add(e);
            }
        }
        return out.isEmpty() ? endpoints : out;
    }

    private boolean fresh(EndpointMetrics m, long now) {
        return m.known() && now - m.scrapedAtMillis() <= stalenessMillis;
    }
}
