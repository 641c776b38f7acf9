package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.UnsafeByteOperations;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * Where one stream's answers go, and what paces the stream's reading by them. Sends nothing once the gateway
 * cancelled, or in observability mode (Envoy ignores answers then). Bodies go out as {@code streamed_response}
 * chunks of at most {@link Mutations#MAX_CHUNK_BYTES}.
 *
 * <p>Outbound backpressure, gRPC's manual flow control: the stream reads one gateway message at a time, and asks
 * for the next ({@link #readNext}) only once its work on the last one is done and the transport has taken its
 * answers (the call {@code isReady}: less than gRPC's 32 KiB threshold queued). A gateway that stops reading
 * answers thus stops its own stream after one message's answers, and, through HTTP/2 flow control, its uploads;
 * the other streams go on. Answers sent while the call is not ready count against the body budget's
 * {@linkplain StreamLimits#answers() answer account} until the transport takes them (the call is ready again, or
 * ends), so slow readers fill {@code --max-buffered-body-bytes} as held bodies do.
 *
 * <p>{@link #send} and the other senders are used by one thread at a time (the stream's {@link StreamOrder}); the
 * transport's callbacks (ready, closed, cancelled) come on its own thread and share only the fields guarded by
 * {@code flow}.
 */
final class Answers {

    private final ServerCallStreamObserver<ProcessingResponse> out;
    /** Where answers not yet taken by the transport are counted, or null. */
    private final StreamLimits.Account unsentBudget;
    private final Object flow = new Object();
    /** The stream is done with its last message and waits for the call to be ready to read the next (flow). */
    private boolean wantsMessage;
    /** Bytes of answers sent while the call was not ready, reserved in {@link #unsentBudget} (flow). */
    private long unsent;
    /** The call ended (closed after its answers went out, or cancelled): nothing more is counted (flow). */
    private boolean ended;
    private boolean observabilityMode;
    private boolean closed;
    /** Dynamic metadata for the answer that ends the response (its last body chunk or its trailers), or null. */
    private Struct endMetadata;

    /**
     * Takes over {@code out}'s inbound flow control and its ready, close and cancel callbacks; must be called while
     * the gRPC method that opened the call runs.
     *
     * @param unsentBudget where answers the transport has not taken yet are counted, or null
     * @param onCancel what else runs when the gateway cancels the stream
     */
    Answers(ServerCallStreamObserver<ProcessingResponse> out, StreamLimits.Account unsentBudget, Runnable onCancel) {
        this.out = out;
        this.unsentBudget = unsentBudget;
        out.disableAutoRequest();
        out.setOnReadyHandler(this::transportReady);
        out.setOnCloseHandler(this::ended); // every answer went to the transport
        out.setOnCancelHandler(() -> {
            ended(); // what was queued for the gateway is dropped
            onCancel.run();
        });
        out.request(1);
    }

    /**
     * The stream's work on its last message is done: reads the next one once the transport has taken this stream's
     * answers (now, or when the call becomes ready). Any thread.
     */
    void readNext() {
        synchronized (flow) {
            wantsMessage = true;
        }
        if (out.isReady()) {
            transportReady();
        }
    }

    /** The transport took what was queued (down to gRPC's threshold): unsent answers counted so far went out. */
    private void transportReady() {
        boolean read;
        long sent;
        synchronized (flow) {
            read = wantsMessage;
            wantsMessage = false;
            sent = unsent;
            unsent = 0;
        }
        if (sent > 0) {
            unsentBudget.release(sent);
        }
        if (read) {
            out.request(1);
        }
    }

    private void ended() {
        long sent;
        synchronized (flow) {
            ended = true;
            sent = unsent;
            unsent = 0;
        }
        if (sent > 0) {
            unsentBudget.release(sent);
        }
    }

    /** Counts {@code response}, just sent, as unsent while the transport has not taken it (the call is not ready). */
    private void countUnsent(ProcessingResponse response) {
        if (unsentBudget == null || out.isReady()) {
            return;
        }
        long bytes = response.getSerializedSize(); // computed already when the message was framed
        unsentBudget.reserveOver(bytes);
        boolean counted;
        synchronized (flow) {
            counted = !ended;
            if (counted) {
                unsent += bytes;
            }
        }
        if (!counted) {
            unsentBudget.release(bytes);
        } else if (out.isReady()) {
            transportReady(); // the transport took it meanwhile, perhaps before this was counted
        }
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
        countUnsent(response);
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
