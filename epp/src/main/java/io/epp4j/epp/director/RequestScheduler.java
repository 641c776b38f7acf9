package io.epp4j.epp.director;

import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.Map;

/**
 * The director's view of the scheduler: picks endpoints for a request and is told what became of it.
 * Implementations are thread-safe; every method is called on the request path and must not block.
 */
public interface RequestScheduler {

    /**
     * Admission before scheduling: returns null to admit, or the reason a request is shed (answered with 429),
     * e.g. a sheddable request (priority &lt; 0) while the saturation detector reports the pool saturated.
     */
    default String admissionDenial(InferenceRequest request, List<Endpoint> candidates) {
        return null;
    }

    /** Picks target endpoints among {@code candidates} (never empty); throws when every endpoint was ruled out. */
    SchedulingResult schedule(InferenceRequest request, List<Endpoint> candidates) throws SchedulingException;

    /** After the pick was sent to the gateway (pre-request hooks, e.g. learning the prefix index). */
    default void onPicked(InferenceRequest request, SchedulingResult result) {
    }

    /** The model server's response headers arrived. */
    default void onResponseHeaders(InferenceRequest request, Endpoint target, Map<String, String> headers) {
    }

    /**
     * The model server's response headers arrived; returns the headers to add to the response sent to the client
     * (for example {@code x-conformance-test-served-endpoint}, {@code x-session-token}). {@code lbMetadata} is the
     * request's {@code envoy.lb} dynamic metadata as strings (it carries
     * {@code x-gateway-destination-endpoint-served}), or null when the gateway sent no such namespace. The director
     * calls this one instead of {@link #onResponseHeaders}; the default delegates to it and adds nothing.
     */
    default Map<String, String> responseHeaderMutations(InferenceRequest request, Endpoint target,
                                                        Map<String, String> headers, Map<String, String> lbMetadata) {
        onResponseHeaders(request, target, headers);
        return Map.of();
    }

    /** A response body chunk passed through (streamed responses: each chunk; others: the whole body). */
    default void onResponseBody(InferenceRequest request, Endpoint target, ByteSlice chunk, boolean endOfStream) {
    }

    /** The exchange ended (completed, failed or cancelled); called exactly once per scheduled request. */
    default void onComplete(InferenceRequest request, Endpoint target, ResponseUsage usage, boolean success) {
    }
}
