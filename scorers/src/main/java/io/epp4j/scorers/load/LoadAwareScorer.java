package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code load-aware-scorer} (llm-d): from the waiting queue {@code w}: 0 ⇒ 0.5, otherwise
 * {@code 0.5 × (1 − min(w, threshold)/threshold)}; the maximum is 0.5 by design. Parameter {@code threshold} (128).
 */
public final class LoadAwareScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "load-aware-scorer";

    private final int threshold;

    public LoadAwareScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.threshold = parameters.getInt("threshold", 128);
        if (threshold <= 0) {
            throw new IllegalArgumentException("parameter 'threshold' must be > 0, got " + threshold);
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            int w = Math.max(0, endpoints.get(i).metrics().waitingQueueSize());
            scores[i] = w == 0 ? 0.5 : 0.5 * (1.0 - (double) Math.min(w, threshold) / threshold);
        }
    }
}
