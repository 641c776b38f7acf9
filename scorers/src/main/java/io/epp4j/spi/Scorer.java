package io.epp4j.spi;

import java.util.List;

/** Rates each candidate endpoint of one request. */
public interface Scorer extends Plugin {

    /**
     * Writes a score in [0,1] for {@code endpoints.get(i)} into {@code scores[i]} (higher is better; values outside
     * the range are clamped by the scheduler). Called concurrently for different requests; must not block.
     */
    void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores);
}
