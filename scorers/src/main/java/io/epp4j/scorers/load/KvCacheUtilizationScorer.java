package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/** {@code kv-cache-utilization-scorer}: {@code 1 − kvCacheUsage}; unknown usage counts as 0 (GAIE). No parameters. */
public final class KvCacheUtilizationScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "kv-cache-utilization-scorer";

    public KvCacheUtilizationScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            double usage = endpoints.get(i).metrics().kvCacheUsage();
            scores[i] = Double.isNaN(usage) ? 1.0 : 1.0 - usage;
        }
    }
}
