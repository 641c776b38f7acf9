package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.UnsafeByteOperations;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * Where one stream's answers go. Sends nothing once the gateway cancelled, or in observability mode (Envoy
 * ignores answers then). Bodies go out as {@code streamed_response} chunks of at most
 * {@link Mutations#MAX_CHUNK_BYTES}. Used by one thread at a time (the stream's {@link StreamOrder}).
 */
final class Answers {

    private final ServerCallStreamObserver<ProcessingResponse> out;
    private boolean observabilityMode;
    private boolean closed;
    /** Dynamic metadata for the answer that ends the response (its last body chunk or its trailers), or null. */
    private Struct endMetadata;

    Answers(ServerCallStreamObserver<ProcessingResponse> out) {
        this.out = out;
    }

    void observabilityMode(boolean on) {
        this.observabilityMode = on;
    }

    /**
     * Puts {@code metadata} on the next answer that ends the response side: a streamed body chunk with
     * end_of_stream, the trailers answer, or one passed to {@link #withEndMetadata}.
     */
    void endMetadata(Struct metadata) {
        this.endMetadata = metadata;
    }

    /** {@code response} carrying the pending end-of-response metadata, if any (then no longer pending). */
    ProcessingResponse withEndMetadata(ProcessingResponse response) {
        if (endMetadata == null) {
            return response;
        }
        ProcessingResponse r = response.toBuilder().setDynamicMetadata(endMetadata).build();
        endMetadata = null;
        return r;
    }

    void send(ProcessingResponse response) {
        if (endMetadata != null && (response.hasResponseTrailers() || response.hasResponseBody()
                && response.getResponseBody().getResponse().getBodyMutation().getStreamedResponse().getEndOfStream())) {
            response = withEndMetadata(response);
        }
        if (closed || observabilityMode || out.isCancelled()) {
            return;
        }
        out.onNext(response);
    }

    /** {@code body[0, length)} as streamed chunks, the last with {@code endOfStream}; the array must not change. */
    void streamedBody(byte[] body, int length, boolean endOfStream, boolean requestSide) {
        if (length == 0) {
            if (endOfStream) {
                send(Mutations.streamedChunk(ByteString.EMPTY, true, requestSide));
            }
            return;
        }
        for (int offset = 0; offset < length; offset += Mutations.MAX_CHUNK_BYTES) {
            int n = Math.min(Mutations.MAX_CHUNK_BYTES, length - offset);
            // the arrays are never written after this point, so the messages may share them
            send(Mutations.streamedChunk(UnsafeByteOperations.unsafeWrap(body, offset, n),
                    endOfStream && offset + n == length, requestSide));
        }
    }

    /** Ends the stream with OK (after an immediate response, or when the gateway half-closed). */
    void close() {
        if (!closed) {
            closed = true;
            if (!out.isCancelled()) {
                out.onCompleted();
            }
        }
    }

    boolean isClosed() {
        return closed;
    }
}
