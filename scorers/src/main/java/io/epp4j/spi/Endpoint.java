package io.epp4j.spi;

/**
 * What a plugin sees of one candidate endpoint during one scheduling cycle: an immutable snapshot.
 *
 * @param info identity, address and labels
 * @param metrics the latest model-server metrics (they may be old: check {@link EndpointMetrics#scrapedAtMillis()})
 * @param inFlightRequests requests this EPP has sent to the endpoint that have not completed, and those it named
 *     as the endpoint's to prefill for another (P/D's prefill pick) until their first response bytes
 * @param inFlightTokens estimated prompt tokens of those requests
 */
public record Endpoint(EndpointInfo info, EndpointMetrics metrics, int inFlightRequests, long inFlightTokens) {

    /** Shorthand for {@code info().hostPort()}. */
    public String hostPort() {
        return info.hostPort();
    }
}
