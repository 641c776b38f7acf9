package io.epp4j.spi;

/**
 * Told the outcome of scheduling once the pick was sent to the gateway (for example to learn the prefix index
 * from the routing decision). Called concurrently for different requests; must not block; failures are logged,
 * never fail the request.
 */
public interface PreRequest extends Plugin {

    void preRequest(CycleState state, InferenceRequest request, SchedulingResult result);
}
