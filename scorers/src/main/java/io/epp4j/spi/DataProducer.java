package io.epp4j.spi;

import java.util.List;

/**
 * Prepares per-request data before filters and scorers run (for example the prefix-cache match of each
 * endpoint) and stores it in the {@link CycleState}. Called concurrently for different requests; must not block.
 * A producer that throws is logged and skipped; the request is still scheduled.
 */
public interface DataProducer extends Plugin {

    void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints);
}
