package io.epp4j.scorers.load;

import io.epp4j.scorers.base.LowerIsBetterScorer;

/** {@code running-requests-size-scorer}: min-max normalised running-batch size, lower is better. No parameters. */
public final class RunningRequestsSizeScorer extends LowerIsBetterScorer {

    public static final String TYPE = "running-requests-size-scorer";

    public RunningRequestsSizeScorer(String name) {
        super(TYPE, name, e -> Math.max(0, e.metrics().runningRequests()));
    }
}
