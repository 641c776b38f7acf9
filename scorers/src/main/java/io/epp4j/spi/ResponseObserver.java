package io.epp4j.spi;

/**
 * Follows a request's response: headers (may add response headers), body chunks and completion. Every method
 * is optional; called concurrently for different requests; must not block; failures are logged, never fail the
 * request.
 */
public interface ResponseObserver extends Plugin {

    /** The model server's response headers arrived; {@code response} can add headers sent back to the client. */
    default void onResponseHeaders(CycleState state, InferenceRequest request, Endpoint target,
                                   ResponseHeaders response) {
    }

    /** A body chunk passed through (streamed: each chunk; otherwise the whole body once). */
    default void onResponseBody(CycleState state, InferenceRequest request, Endpoint target, ByteSlice chunk,
                                boolean endOfStream) {
    }

    /** The exchange ended; called exactly once per scheduled request. */
    default void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                            boolean success) {
    }
}
