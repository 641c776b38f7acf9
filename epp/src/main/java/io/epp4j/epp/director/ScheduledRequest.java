package io.epp4j.epp.director;

import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.UpstreamHeaders;

import java.util.Map;

/**
 * One request as its scheduler left it: the pick, and the hooks that follow the request to its end, with whatever
 * state scheduling produced (for the built-in engine, the plugins' cycle state and the configuration that
 * scheduled it, so a reload in between changes nothing for this request). The director calls the hooks in order
 * (pre-request, response headers, body chunks, completion) and from one thread at a time; a hook that throws is
 * logged and the request goes on.
 */
public interface ScheduledRequest {

    /** The chosen endpoints, primary first. */
    SchedulingResult result();

    /**
     * Each candidate's weighted total score in the primary profile, by {@code ip:port}, in candidate order; empty
     * when the scheduler does not score. Computed on demand (only {@code --lb-metadata-scores} asks).
     */
    default Map<String, Double> scores() {
        return Map.of();
    }

    /** Pre-request hooks: the pick is decided and about to be sent to the gateway. */
    default void preRequest() {
    }

    /** Headers the pre-request hooks set on, or removed from, the forwarded request (empty by default). */
    default UpstreamHeaders upstreamHeaders() {
        return new UpstreamHeaders();
    }

    /** The model server's response headers arrived; hooks may add headers to the client's response. */
    default void onResponseHeaders(ResponseHeaders response) {
    }

    /** A response body chunk passed through (streamed responses: each chunk; others: the whole body once). */
    default void onResponseBody(ByteSlice chunk, boolean endOfStream) {
    }

    /**
     * The response ended and reported {@code usage}: the attributes the reporting plugins give the gateway as
     * dynamic metadata on the answer that ends the response (namespace to name to value; empty: none).
     */
    default Map<String, Map<String, Double>> responseAttributes(ResponseUsage usage) {
        return Map.of();
    }

    /** The exchange ended (completed, failed or cancelled); called at most once. */
    default void onComplete(ResponseUsage usage, boolean success) {
    }

    /** A scheduled request without hooks. */
    static ScheduledRequest of(SchedulingResult result) {
        return () -> result;
    }
}
