package io.epp4j.scorers.load;

import io.epp4j.scorers.base.MinMax;
import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/** {@code running-requests-size-scorer}: min-max normalised running-batch size, lower is better. No parameters. */
public final class RunningRequestsSizeScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "running-requests-size-scorer";

    public RunningRequestsSizeScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        MinMax.lowerIsBetter(endpoints, e -> Math.max(0, e.metrics().runningRequests()), scores);
    }
}
