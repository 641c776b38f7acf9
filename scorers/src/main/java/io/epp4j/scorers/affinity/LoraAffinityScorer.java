package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code lora-affinity-scorer}: for the request's target model, adapter active ⇒ 1.0; else a free adapter slot
 * ({@code |active| + |waiting| < maxActive}) ⇒ 0.8; else adapter waiting ⇒ 0.6; else 0. No parameters.
 */
public final class LoraAffinityScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "lora-affinity-scorer";

    public LoraAffinityScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        String adapter = request.targetModel();
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            EndpointMetrics m = endpoints.get(i).metrics();
            if (m.activeAdapters().contains(adapter)) {
                scores[i] = 1.0;
            } else if (m.activeAdapters().size() + m.waitingAdapters().size() < m.maxActiveAdapters()) {
                scores[i] = 0.8;
            } else if (m.waitingAdapters().contains(adapter)) {
                scores[i] = 0.6;
            } else {
                scores[i] = 0.0;
            }
        }
    }
}
