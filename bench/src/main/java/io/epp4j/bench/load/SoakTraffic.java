package io.epp4j.bench.load;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.Messages;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak's mixed traffic: each request is a whole exchange as a gateway forwards it (request headers and body,
 * then the model server's response headers and body echoed back), chosen per request from a seeded random: half
 * streamed as 1 to 20 SSE events ending with usage, half one JSON body with usage; 5% cancelled by the client after
 * the first event, 1% answered 500 by the model server, 1% with a prompt of 100 KB or more. Latency is the
 * decision's (from the request's intended start to the headers answer and the echo of the last request chunk),
 * recorded per time window so the first and last can be compared. Each stream is driven from its connection's
 * event loop only.
 */
final class SoakTraffic implements OpenLoopRequests {

    static final double CANCELS = 0.05;
    static final double ERRORS = 0.01;
    static final double LARGE_PROMPTS = 0.01;
    static final int LARGE_PROMPT_BYTES = 100 * 1024;
    static final int MAX_CHUNKS = 20;

    private static final byte[] EVENT = Messages.utf8("data: {\"id\":\"chatcmpl-soak\",\"object\":"
            + "\"chat.completion.chunk\",\"model\":\"Qwen/Qwen3-8B\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\" token\"},\"finish_reason\":null}]}\n\n");
    private static final byte[] LAST_EVENT = Messages.utf8("data: {\"id\":\"chatcmpl-soak\",\"object\":"
            + "\"chat.completion.chunk\",\"model\":\"Qwen/Qwen3-8B\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
            + "300,\"completion_tokens\":20,\"total_tokens\":320}}\n\ndata: [DONE]\n\n");
    private static final byte[] JSON = Messages.utf8("{\"id\":\"cmpl-soak\",\"object\":\"chat.completion\","
            + "\"model\":\"Qwen/Qwen3-8B\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            + "\"fine\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":300,\"completion_tokens\":1,"
            + "\"total_tokens\":301}}");
    private static final byte[] ERROR = Messages.utf8("{\"object\":\"error\",\"message\":\"injected server error\","
            + "\"type\":\"InternalServerError\",\"code\":500}");

    private final List<List<ProcessingRequest>> small;
    private final List<List<ProcessingRequest>> large;
    private final Dialect dialect;
    private final long seed;
    private volatile long originNanos;
    private final long windowNanos;
    private final List<Histogram> windows = new ArrayList<>();
    private final Semaphore inFlight = new Semaphore(OPEN_LOOP_LIMIT);
    private final AtomicLong errors = new AtomicLong();
    /** Requests not sent because {@link #OPEN_LOOP_LIMIT} exchanges were open: the harness fell behind. */
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong upstreamErrors = new AtomicLong();
    private volatile boolean recording;
    /** What went wrong with the first exchange that failed, or null. */
    private final java.util.concurrent.atomic.AtomicReference<String> firstError =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** Most exchanges in flight; one more counts as an error. */
    static final int OPEN_LOOP_LIMIT = 10_000;

    SoakTraffic(Dialect dialect, long seed, double windowSeconds, int windowCount) {
        this.dialect = dialect;
        this.seed = seed;
        this.windowNanos = (long) (windowSeconds * 1e9);
        for (int i = 0; i < windowCount; i++) {
            windows.add(new ConcurrentHistogram(3_600_000_000L, 3));
        }
        small = LoadGenerator.sequences(new LoadGenerator.Settings(0, false, 1, 0, 0, 1024, dialect, seed));
        large = LoadGenerator.sequences(new LoadGenerator.Settings(0, false, 1, 0, 0, LARGE_PROMPT_BYTES, dialect,
                seed + 1)).subList(0, 8);
    }

    /**
     * Decision latencies of requests meant to start from {@code originNanos} on are recorded in their windows
     * (the warm-up's are not), until {@link #stopRecording}.
     */
    void recordFrom(long originNanos) {
        this.originNanos = originNanos;
        recording = true;
    }

    void stopRecording() {
        recording = false;
    }

    List<Histogram> windows() {
        return windows;
    }

    @Override
    public Semaphore inFlight() {
        return inFlight;
    }

    @Override
    public AtomicLong errors() {
        return errors;
    }

    @Override
    public void refused() {
        refused.incrementAndGet();
    }

    /** Requests the load generator could not send (it already had {@link #OPEN_LOOP_LIMIT} exchanges open). */
    long refusedCount() {
        return refused.get();
    }

    String firstError() {
        return firstError.get();
    }

    long completed() {
        return completed.get();
    }

    long cancelled() {
        return cancelled.get();
    }

    long upstreamErrors() {
        return upstreamErrors.get();
    }

    @Override
    public void start(ExternalProcessorGrpc.ExternalProcessorStub stub, long n, long intendedNanos) {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + n);
        double kind = r.nextDouble();
        Exchange e = new Exchange(intendedNanos, kind < CANCELS, kind >= CANCELS && kind < CANCELS + ERRORS,
                r.nextBoolean(), 1 + r.nextInt(MAX_CHUNKS));
        List<ProcessingRequest> request = r.nextDouble() < LARGE_PROMPTS ? large.get(r.nextInt(large.size()))
                : small.get(r.nextInt(small.size()));
        stub.process(e);
        request.forEach(e.out::onNext);
    }

    /** One request's exchange; used only on its connection's event loop. */
    private final class Exchange implements ClientResponseObserver<ProcessingRequest, ProcessingResponse> {
        final long intended;
        final boolean cancel;
        final boolean upstreamError;
        final boolean stream;
        final int chunks;
        ClientCallStreamObserver<ProcessingRequest> out;
        Metadata metadata;
        boolean decided;
        boolean done;

        Exchange(long intended, boolean cancel, boolean upstreamError, boolean stream, int chunks) {
            this.intended = intended;
            this.cancel = cancel;
            this.upstreamError = upstreamError;
            this.stream = stream;
            this.chunks = chunks;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ProcessingRequest> requestStream) {
            out = requestStream;
        }

        @Override
        public void onNext(ProcessingResponse r) {
            if (done) {
                return;
            }
            if (r.hasRequestHeaders()) {
                String destination = dialect.destination(r);
                metadata = dialect.responseMetadata(destination, destination);
            } else if (!decided && r.hasRequestBody() && r.getRequestBody().getResponse().getBodyMutation()
                    .getStreamedResponse().getEndOfStream()) {
                decided = true;
                long now = System.nanoTime();
                if (recording && intended >= originNanos) {
                    int w = (int) Math.min(windows.size() - 1, Math.max(0, (intended - originNanos) / windowNanos));
                    windows.get(w).recordValue(Math.max(1, (now - intended) / 1000));
                }
                respond();
            } else if (r.hasResponseBody() && r.getResponseBody().getResponse().getBodyMutation()
                    .getStreamedResponse().getEndOfStream()) {
                finish(upstreamError ? upstreamErrors : completed);
                out.onCompleted();
            } else if (r.hasImmediateResponse()) {
                fail("answered " + r.getImmediateResponse().getStatus().getCodeValue() + ": "
                        + r.getImmediateResponse().getBody().toStringUtf8());
                out.onCompleted();
            }
        }

        /** The model server's answer, forwarded as it arrives (no waiting for the EPP's echoes). */
        private void respond() {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put(":status", upstreamError ? "500" : "200");
            headers.put("content-type", stream && !upstreamError ? "text/event-stream" : "application/json");
            out.onNext(Messages.responseHeaders(dialect, headers, false, metadata));
            if (upstreamError) {
                out.onNext(Messages.responseBody(ERROR, true, metadata));
            } else if (cancel) {
                out.onNext(Messages.responseBody(EVENT, false, metadata));
                finish(cancelled);
                out.cancel("soak: the client went away", null);
            } else if (stream) {
                for (int i = 1; i < chunks; i++) {
                    out.onNext(Messages.responseBody(EVENT, false, metadata));
                }
                out.onNext(Messages.responseBody(LAST_EVENT, true, metadata));
            } else {
                out.onNext(Messages.responseBody(JSON, true, metadata));
            }
        }

        private void finish(AtomicLong outcome) {
            if (!done) {
                done = true;
                outcome.incrementAndGet();
                inFlight.release();
            }
        }

        private void fail(String why) {
            if (!done) {
                firstError.compareAndSet(null, why);
                finish(errors);
            }
        }

        @Override
        public void onError(Throwable t) {
            fail("stream failed: " + t);
        }

        @Override
        public void onCompleted() {
            fail("the EPP ended the stream before the response's end"); // unless already done
        }
    }
}
