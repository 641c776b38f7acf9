package io.epp4j.scorers.load;

import io.epp4j.scorers.base.MinMax;
import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code queue-scorer}: min-max normalised waiting queue, {@code (max − q)/(max − min)}, all equal ⇒ 1.0. An
 * endpoint never scraped counts as an empty queue, as in GAIE. No parameters.
 */
public final class QueueScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "queue-scorer";

    public QueueScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        MinMax.lowerIsBetter(endpoints, e -> Math.max(0, e.metrics().waitingQueueSize()), scores);
    }
}
