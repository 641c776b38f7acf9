package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code active-request-scorer} (llm-d): from the EPP's in-flight request count per endpoint, {@code count ≤
 * idleThreshold ⇒ 1.0}, otherwise {@code (maxCount − count)/maxCount × maxBusyScore}. Parameters
 * {@code idleThreshold} (0), {@code maxBusyScore} (1.0); {@code requestTimeout} is accepted and ignored.
 */
public final class ActiveRequestScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "active-request-scorer";

    private final int idleThreshold;
    private final double maxBusyScore;

    public ActiveRequestScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.idleThreshold = parameters.getInt("idleThreshold", 0);
        this.maxBusyScore = parameters.getDouble("maxBusyScore", 1.0);
        if (idleThreshold < 0) {
            throw new IllegalArgumentException("parameter 'idleThreshold' must be >= 0");
        }
        if (maxBusyScore < 0 || maxBusyScore > 1) {
            throw new IllegalArgumentException("parameter 'maxBusyScore' must be in [0,1]");
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        int max = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, endpoints.get(i).inFlightRequests());
        }
        for (int i = 0; i < n; i++) {
            int count = endpoints.get(i).inFlightRequests();
            scores[i] = count <= idleThreshold || max == 0 ? 1.0 : (double) (max - count) / max * maxBusyScore;
        }
    }
}
