package io.epp4j.epp.flowcontrol;

/**
 * How a request left flow control, under GAIE v1.5.0's names (the {@code outcome} metric label) and llm-d's two
 * additions for a pool without endpoints, with the status and message the gateway is answered with when it was not
 * dispatched.
 */
public enum Outcome {
    DISPATCHED("Dispatched", null, null),
    REJECTED_CAPACITY("RejectedCapacity", "ResourceExhausted", "request rejected pre-queue: queue at capacity"),
    REJECTED_OTHER("RejectedOther", "Internal",
            "internal flow control error: request rejected pre-queue: flow controller is not running"),
    EVICTED_TTL("EvictedTTL", "ServiceUnavailable",
            "request timed out in queue: request evicted from queue: request TTL expired"),
    EVICTED_CONTEXT_CANCELLED("EvictedContextCancelled", "ServiceUnavailable",
            "client disconnected: request evicted from queue: request context cancelled: context canceled"),
    EVICTED_OTHER("EvictedOther", "Internal",
            "internal flow control error: request evicted from queue: flow controller is not running"),
    /** llm-d: a queue was at capacity while the pool had no endpoint (genuine unavailability, not backpressure). */
    REJECTED_NO_ENDPOINTS("RejectedNoEndpoints", "ServiceUnavailable",
            "no endpoints available: request rejected pre-queue: queue at capacity"),
    /** llm-d: the request's budget ran out while the pool had no endpoint ({@code noEndpointRequestTTL}). */
    EVICTED_NO_ENDPOINTS("EvictedNoEndpoints", "ServiceUnavailable",
            "request timed out in queue and no endpoints are available: request evicted from queue: request TTL"
                    + " expired");

    private final String label;
    private final String errorCode;
    private final String message;

    Outcome(String label, String errorCode, String message) {
        this.label = label;
        this.errorCode = errorCode;
        this.message = message;
    }

    /** GAIE's {@code QueueOutcome} string, the {@code outcome} label. */
    public String label() {
        return label;
    }

    /** GAIE's error code the gateway is answered with ({@code ResourceExhausted} = 429, {@code ServiceUnavailable}
     * = 503, {@code Internal} = 500), or null for {@link #DISPATCHED}. */
    public String errorCode() {
        return errorCode;
    }

    /** The message after {@code inference error: <code> - }, or null for {@link #DISPATCHED}. */
    public String message() {
        return message;
    }
}
