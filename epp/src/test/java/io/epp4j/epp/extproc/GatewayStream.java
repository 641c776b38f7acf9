package io.epp4j.epp.extproc;

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

/** Plays the gateway's side of one ext_proc stream: sends messages, collects the EPP's answers in order. */
public final class GatewayStream implements ClientResponseObserver<ProcessingRequest, ProcessingResponse> {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private final LinkedBlockingQueue<ProcessingResponse> responses = new LinkedBlockingQueue<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile ClientCallStreamObserver<ProcessingRequest> requests;
    private volatile Status status;

    public static GatewayStream open(Channel channel) {
        GatewayStream stream = new GatewayStream();
        ExternalProcessorGrpc.newStub(channel).process(stream);
        return stream;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ProcessingRequest> requestStream) {
        this.requests = requestStream;
    }

    public GatewayStream send(ProcessingRequest... messages) {
        for (ProcessingRequest m : messages) {
            requests.onNext(m);
        }
        return this;
    }

    public GatewayStream send(List<ProcessingRequest> messages) {
        messages.forEach(requests::onNext);
        return this;
    }

    /** Half-close, as Envoy does after its last expected answer. */
    public void halfClose() {
        requests.onCompleted();
    }

    /** Cancel, as a gateway does when the client goes away. */
    public void cancel() {
        requests.cancel("client went away", null);
    }

    /** The next answer; fails the test after a generous deadline. */
    public ProcessingResponse next() throws InterruptedException {
        ProcessingResponse r = responses.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new AssertionError("no answer from the EPP within " + WAIT + " (stream status " + status + ")");
        }
        return r;
    }

    /** Answers until one carries a request-body chunk with end_of_stream, inclusive. */
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
        if (!done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the EPP did not end the stream");
        }
        return status;
    }

    /** No answer arrives within a short while (used after the last expected answer only). */
    public ProcessingResponse poll(Duration wait) throws InterruptedException {
        return responses.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void onNext(ProcessingResponse value) {
        responses.add(value);
    }

    @Override
    public void onError(Throwable t) {
        status = Status.fromThrowable(t);
        done.countDown();
    }

    @Override
    public void onCompleted() {
        status = Status.OK;
        done.countDown();
    }
}
