package io.epp4j.scorers.admission;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.Admitter;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.List;
import java.util.Locale;
import java.util.function.DoubleSupplier;

/**
 * {@code probabilistic-admitter} (llm-d): sheds sheddable requests (priority below 0) with a probability that grows
 * steeply with the candidates' saturation, {@code p = min(saturation^power × k, 1)}, where saturation is the mean
 * over candidates of {@code max(waiting/queueDepthThreshold, kvCacheUsage/kvCacheUtilThreshold)} (an endpoint
 * without metrics counts 1.0). Requests of priority 0 or more, and any request while there is no candidate, are
 * always admitted. Parameters {@code queueDepthThreshold} (5), {@code kvCacheUtilThreshold} (0.8), {@code power}
 * (5.0), {@code k} (300.0): with the defaults nothing is shed below about 0.1 and everything from about 0.34.
 * Thread-safe.
 */
public final class ProbabilisticAdmitter extends NamedPlugin implements Admitter {

    public static final String TYPE = "probabilistic-admitter";

    private final double queueDepthThreshold;
    private final double kvCacheUtilThreshold;
    private final double power;
    private final double k;
    private final DoubleSupplier random;

    /** @param random uniform doubles in [0, 1), called from any thread */
    public ProbabilisticAdmitter(String name, PluginParameters parameters, DoubleSupplier random) {
        super(TYPE, name);
        this.queueDepthThreshold = parameters.getInt("queueDepthThreshold", 5);
        this.kvCacheUtilThreshold = parameters.getDouble("kvCacheUtilThreshold", 0.8);
        this.power = parameters.getDouble("power", 5.0);
        this.k = parameters.getDouble("k", 300.0);
        this.random = random;
        if (queueDepthThreshold <= 0) {
            throw new IllegalArgumentException("parameter 'queueDepthThreshold' must be > 0");
        }
        if (!(kvCacheUtilThreshold > 0)) {
            throw new IllegalArgumentException("parameter 'kvCacheUtilThreshold' must be > 0");
        }
        if (!(power > 0)) {
            throw new IllegalArgumentException("parameter 'power' must be > 0");
        }
        if (!(k > 0)) {
            throw new IllegalArgumentException("parameter 'k' must be > 0");
        }
    }

    @Override
    public String denial(InferenceRequest request, List<Endpoint> candidates) {
        if (request.priority() >= 0 || candidates.isEmpty()) {
            return null;
        }
        double saturation = saturation(candidates);
        double p = sheddingProbability(saturation);
        if (random.getAsDouble() < p) {
            return String.format(Locale.ROOT, "%s: rejected, saturation=%.3f prob=%.2f", TYPE, saturation, p);
        }
        return null;
    }

    /** The probability a sheddable request is rejected at {@code saturation}. */
    public double sheddingProbability(double saturation) {
        return Math.min(Math.pow(saturation, power) * k, 1.0);
    }

    double saturation(List<Endpoint> endpoints) {
        double total = 0;
        for (Endpoint e : endpoints) {
            EndpointMetrics m = e.metrics();
            if (!m.known() || m.waitingQueueSize() < 0 || Double.isNaN(m.kvCacheUsage())) {
                total += 1.0;
            } else {
                total += Math.max(m.waitingQueueSize() / queueDepthThreshold, m.kvCacheUsage() / kvCacheUtilThreshold);
            }
        }
        return total / endpoints.size();
    }
}
