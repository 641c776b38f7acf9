package io.epp4j.gatewaykit;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's side of one ext_proc stream (one HTTP request): sends messages, collects the EPP's answers in
 * order. {@link #send} may be called from several threads (a gateway forwards the response body from its own
 * reader); answers are read by one.
 */
public final class GatewayStream implements ClientResponseObserver<ProcessingRequest, ProcessingResponse> {

    /** How long {@link #next()} waits for an answer: generous, a loaded test machine may be slow. */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(20);

    /** What the EPP sent, in order: answers, then {@link #END} once it ended the stream. */
    private final LinkedBlockingQueue<Object> responses = new LinkedBlockingQueue<>();
    private static final Object END = new Object();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile ClientCallStreamObserver<ProcessingRequest> requests;
    private volatile Status status;

    /** Opens a stream on {@code channel}. */
    public static GatewayStream open(Channel channel) {
        GatewayStream stream = new GatewayStream();
        ExternalProcessorGrpc.newStub(channel).process(stream);
        return stream;
    }

    /** Opens a stream that the EPP must finish within {@code deadline}. */
    public static GatewayStream open(Channel channel, Duration deadline) {
        GatewayStream stream = new GatewayStream();
        ExternalProcessorGrpc.newStub(channel).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                .process(stream);
        return stream;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ProcessingRequest> requestStream) {
        this.requests = requestStream;
    }

    public synchronized GatewayStream send(ProcessingRequest... messages) {
        for (ProcessingRequest m : messages) {
            requests.onNext(m);
        }
        return this;
    }

    public synchronized GatewayStream send(List<ProcessingRequest> messages) {
        messages.forEach(requests::onNext);
        return this;
    }

    /** Half-close, as Envoy does after its last expected answer. */
    public synchronized void halfClose() {
        requests.onCompleted();
    }

    /** Cancel, as a gateway does when the client goes away. */
    public synchronized void cancel(String why) {
        requests.cancel(why, null);
    }

    public void cancel() {
        cancel("client went away");
    }

    /** The next answer; fails after {@link #DEFAULT_WAIT}. */
    public ProcessingResponse next() throws InterruptedException {
        return next(DEFAULT_WAIT);
    }

    /**
     * The next answer.
     *
     * @throws NoAnswerException when none came within {@code wait}, or the EPP ended the stream first
     */
    public ProcessingResponse next(Duration wait) throws InterruptedException {
        Object r = responses.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        if (r instanceof ProcessingResponse answer) {
            return answer;
        }
        if (r == END) {
            responses.add(END); // later calls see the end too
            throw new NoAnswerException("the EPP ended the stream (" + status + ") before answering", status);
        }
        throw new NoAnswerException("no answer from the EPP within " + wait, null);
    }

    /** The EPP did not answer: it ended the stream ({@link #status()} set), or took too long. */
    public static final class NoAnswerException extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        private final transient Status status;

        NoAnswerException(String message, Status status) {
            super(message);
            this.status = status;
        }

        /** The stream's status when the EPP ended it, else null (a timeout). */
        public Status status() {
            return status;
        }
    }

    /**
     * Answers until one carries a body chunk with end_of_stream (request or response side), inclusive, or an
     * immediate response.
     */
    public List<ProcessingResponse> nextUntilBodyEnd(boolean requestSide) throws InterruptedException {
        List<ProcessingResponse> out = new ArrayList<>();
        while (true) {
            ProcessingResponse r = next();
            out.add(r);
            var body = requestSide ? (r.hasRequestBody() ? r.getRequestBody() : null)
                    : (r.hasResponseBody() ? r.getResponseBody() : null);
            if (r.hasImmediateResponse()) {
                return out;
            }
            if (body != null && body.getResponse().getBodyMutation().getStreamedResponse().getEndOfStream()) {
                return out;
            }
        }
    }

    /** Waits for the EPP to end the stream; returns its status. */
    public Status awaitClose() throws InterruptedException {
        if (!done.await(DEFAULT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the EPP did not end the stream");
        }
        return status;
    }

    /** The next answer if one arrives within {@code wait}, else null (also at once when the stream ended). */
    public ProcessingResponse poll(Duration wait) throws InterruptedException {
        Object r = responses.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        if (r == END) {
            responses.add(END);
            return null;
        }
        return (ProcessingResponse) r;
    }

    /** The stream's status once the EPP ended it, else null. */
    public Status status() {
        return status;
    }

    @Override
    public void onNext(ProcessingResponse value) {
        responses.add(value);
    }

    @Override
    public void onError(Throwable t) {
        status = Status.fromThrowable(t);
        responses.add(END);
        done.countDown();
    }

    @Override
    public void onCompleted() {
        status = Status.OK;
        responses.add(END);
        done.countDown();
    }
}
