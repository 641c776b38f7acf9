package io.epp4j.scorers.base;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.function.ToIntFunction;

/**
 * A scorer of one load figure per endpoint, lower is better: {@link MinMax#lowerIsBetter min-max normalised}, so
 * the least loaded endpoint scores 1.0, the most loaded 0.0, and all equal score 1.0. Thread-safe when the figure
 * is.
 */
public abstract class LowerIsBetterScorer extends NamedPlugin implements Scorer {

    private final ToIntFunction<Endpoint> figure;

    protected LowerIsBetterScorer(String type, String name, ToIntFunction<Endpoint> figure) {
        super(type, name);
        this.figure = figure;
    }

    @Override
    public final void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        MinMax.lowerIsBetter(endpoints, figure, scores);
    }
}
