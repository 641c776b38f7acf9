package io.epp4j.spi;

import java.util.List;

/**
 * Decides whether a request may be scheduled at all, before any filter runs (llm-d's request-control admitter).
 * Runs for every request with a body, with flow control on or off, after the candidate endpoints are known.
 * Called concurrently for different requests; must not block.
 */
public interface Admitter extends Plugin {

    /**
     * Null to admit {@code request}; otherwise the reason it is rejected, which the gateway receives with HTTP 429
     * ({@code ResourceExhausted}).
     */
    String denial(InferenceRequest request, List<Endpoint> candidates);
}
