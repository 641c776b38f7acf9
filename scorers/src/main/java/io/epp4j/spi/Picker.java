package io.epp4j.spi;

import java.util.List;

/** Chooses the target endpoint(s) from the scored candidates. */
public interface Picker extends Plugin {

    /**
     * Returns the chosen endpoints, best first (the first is the primary target, the rest are fallbacks), never
     * empty when {@code endpoints} is not. {@code totalScores[i]} is the weighted score of {@code endpoints.get(i)}.
     * Called concurrently for different requests; must not block.
     */
    List<Endpoint> pick(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] totalScores);
}
