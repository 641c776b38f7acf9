package io.epp4j.scorers.load;

import io.epp4j.scorers.base.LowerIsBetterScorer;

/**
 * {@code queue-scorer}: min-max normalised waiting queue, {@code (max − q)/(max − min)}, all equal ⇒ 1.0. An
 * endpoint never scraped counts as an empty queue, as in GAIE. No parameters.
 */
public final class QueueScorer extends LowerIsBetterScorer {

    public static final String TYPE = "queue-scorer";

    public QueueScorer(String name) {
        super(TYPE, name, e -> Math.max(0, e.metrics().waitingQueueSize()));
    }
}
