package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code token-load-scorer}: {@code 1 − min(1, inFlightTokens / queueThresholdTokens)} from the EPP's own
 * in-flight token estimate. Parameter {@code queueThresholdTokens} (default 4,194,304, must be &gt; 0).
 */
public final class TokenLoadScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "token-load-scorer";
    public static final long DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304L;

    private final double threshold;

    public TokenLoadScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        long t = parameters.getLong("queueThresholdTokens", DEFAULT_QUEUE_THRESHOLD_TOKENS);
        if (t <= 0) {
            throw new IllegalArgumentException("parameter 'queueThresholdTokens' must be > 0, got " + t);
        }
        this.threshold = t;
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            scores[i] = 1.0 - Math.min(1.0, Math.max(0, endpoints.get(i).inFlightTokens()) / threshold);
        }
    }
}
