package io.epp4j.spi;

import java.util.List;

/** Narrows the candidate endpoints of one request. */
public interface Filter extends Plugin {

    /**
     * Returns the endpoints that stay candidates, a sublist of {@code endpoints} in their order (possibly empty).
     * Called concurrently for different requests; must not block.
     */
    List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints);
}
