package io.epp4j.bench.load;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.Messages;
import io.grpc.CallOptions;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Requests whose responses stream while new decisions are measured, as a gateway forwards them: each was decided
 * like any request, then gets its response headers ({@code text/event-stream}) and one SSE event every
 * {@code 1 / chunksPerSecond} seconds, which the target echoes back. Each connection's streams are opened, paced
 * and closed from that connection's own event loop (the thread that also reads their answers), the chunks of all
 * its streams spread evenly in time and sent once a tick ({@link #TICK_NANOS}). The streams stay open until
 * {@link #close}.
 */
final class OpenStreams implements AutoCloseable {

    /** One token's SSE event, as vLLM streams a chat completion. */
    private static final byte[] EVENT = Messages.utf8("data: {\"id\":\"chatcmpl-load\",\"object\":"
            + "\"chat.completion.chunk\",\"created\":1,\"model\":\"Qwen/Qwen3-8B\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    private static final byte[] DONE = Messages.utf8("data: [DONE]\n\n");
    private static final long OPEN_TIMEOUT_SECONDS = 60;
    /**
     * How often a connection's due chunks are sent (5 chunks a write at 20,000 a second). Measured: a 1 ms tick cut
     * the CPU a little more but its bursts of 20 chunks delayed new decisions on both servers.
     */
    static final long TICK_NANOS = 250_000;

    private final List<Pacer> pacers = new ArrayList<>();
    private final AtomicLong echoes = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private CountDownLatch closed;

    private OpenStreams() {
    }

    /**
     * Opens {@code count} streams spread round-robin over {@code lanes}, waits until each has its decision, then
     * starts sending {@code chunksPerSecond} response chunks a second on each.
     *
     * @throws IllegalStateException when not every stream got its decision within a minute
     */
    static OpenStreams open(List<Connection.Lane> lanes, int count, double chunksPerSecond, Dialect dialect,
                            List<List<ProcessingRequest>> seqs) throws InterruptedException {
        OpenStreams open = new OpenStreams();
        CountDownLatch decided = new CountDownLatch(count);
        open.closed = new CountDownLatch(count);
        List<List<Stream>> byLane = new ArrayList<>();
        lanes.forEach(l -> byLane.add(new ArrayList<>()));
        for (int i = 0; i < count; i++) {
            Stream s = open.new Stream(dialect, decided);
            byLane.get(i % lanes.size()).add(s);
            List<ProcessingRequest> seq = seqs.get(i % seqs.size());
            Connection.Lane lane = lanes.get(i % lanes.size());
            lane.loop().execute(() -> s.start(lane, seq));
        }
        if (!decided.await(OPEN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException((count - decided.getCount()) + " of " + count
                    + " open streams got their decision within " + OPEN_TIMEOUT_SECONDS + " s");
        }
        long start = System.nanoTime();
        for (int l = 0; l < lanes.size(); l++) {
            List<Stream> streams = byLane.get(l);
            if (!streams.isEmpty()) {
                Pacer p = new Pacer(lanes.get(l), streams, start, 1e9 / (streams.size() * chunksPerSecond));
                open.pacers.add(p);
                lanes.get(l).loop().execute(p);
            }
        }
        return open;
    }

    /** Response chunks the target has echoed so far. */
    long echoes() {
        return echoes.get();
    }

    /** Streams the target failed or answered with an error. */
    long errors() {
        return errors.get();
    }

    /** Stops the chunks, ends every response (the last event with end_of_stream) and waits for the echoes. */
    @Override
    public void close() throws InterruptedException {
        for (Pacer p : pacers) {
            p.lane.loop().execute(p::stop);
        }
        if (!closed.await(30, TimeUnit.SECONDS)) {
            errors.addAndGet(closed.getCount());
        }
    }

    /**
     * Sends the chunks of one connection's streams in turn, each stream every {@code streams × interval}, those
     * due within a tick together: one event-loop task per tick, whose chunks gRPC writes with one flush (a
     * gateway's worker also forwards what its upstreams sent in one loop iteration together). A task and a write
     * per chunk (every 50 µs at 20,000 chunks/s) cost the generator and the server a wake-up and system calls each:
     * measured, half of both processes' CPU was system time.
     */
    private static final class Pacer implements Runnable {
        final Connection.Lane lane;
        final List<Stream> streams;
        final long start;
        final double intervalNanos;
        long next;
        boolean stopped;

        Pacer(Connection.Lane lane, List<Stream> streams, long start, double intervalNanos) {
            this.lane = lane;
            this.streams = streams;
            this.start = start;
            this.intervalNanos = intervalNanos;
        }

        @Override
        public void run() {
            while (!stopped) {
                long wait = start + (long) (next * intervalNanos) - System.nanoTime();
                if (wait > 0) {
                    lane.loop().schedule(this, Math.max(wait, TICK_NANOS), TimeUnit.NANOSECONDS);
                    return;
                }
                streams.get((int) (next++ % streams.size())).chunk();
            }
        }

        void stop() {
            stopped = true;
            streams.forEach(Stream::end);
        }
    }

    /**
     * One open request; used only on its connection's event loop. It speaks ext_proc in serialized messages: the
     * chunk is serialized once, and an answer is parsed only when it is not a chunk's echo (or the response has
     * ended), so the generator spends its CPU on sending and reading, not on protobuf.
     */
    private final class Stream implements ClientResponseObserver<byte[], byte[]> {
        final Dialect dialect;
        final CountDownLatch decided;
        ClientCallStreamObserver<byte[]> out;
        /** The serialized chunk message, the same bytes every time. */
        byte[] chunk;
        Metadata metadata;
        boolean headersAnswered;
        boolean counted;
        boolean ended;
        boolean done;

        Stream(Dialect dialect, CountDownLatch decided) {
            this.dialect = dialect;
            this.decided = decided;
        }

        void start(Connection.Lane lane, List<ProcessingRequest> request) {
            ClientCalls.asyncBidiStreamingCall(lane.channel().newCall(RawProcess.METHOD, CallOptions.DEFAULT), this);
            request.forEach(r -> out.onNext(r.toByteArray()));
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            this.out = requestStream;
        }

        @Override
        public void onNext(byte[] answer) {
            if (!ended && RawProcess.isResponseBody(answer)) {
                echoes.incrementAndGet(); // a chunk's echo: nothing in it to read before the response ends
                return;
            }
            ProcessingResponse r;
            try {
                r = ProcessingResponse.parseFrom(answer);
            } catch (InvalidProtocolBufferException e) {
                finish(false);
                return;
            }
            if (r.hasRequestHeaders()) {
                String destination = dialect.destination(r);
                metadata = dialect.responseMetadata(destination, destination);
                chunk = Messages.responseBody(EVENT, false, metadata).toByteArray();
            } else if (r.hasRequestBody() && r.getRequestBody().getResponse().getBodyMutation()
                    .getStreamedResponse().getEndOfStream()) {
                Map<String, String> headers = new LinkedHashMap<>();
                headers.put(":status", "200");
                headers.put("content-type", "text/event-stream");
                out.onNext(Messages.responseHeaders(dialect, headers, false, metadata).toByteArray());
            } else if (r.hasResponseHeaders()) {
                headersAnswered = true;
                counted();
            } else if (r.hasResponseBody()) {
                echoes.incrementAndGet();
                if (r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse().getEndOfStream()) {
                    finish(true);
                }
            } else if (r.hasImmediateResponse()) {
                finish(false);
            }
        }

        /** Counts this stream in the open latch once, whether it opened or failed. */
        void counted() {
            if (!counted) {
                counted = true;
                decided.countDown();
            }
        }

        void chunk() {
            if (!done && headersAnswered) {
                out.onNext(chunk);
            }
        }

        void end() {
            if (!done && !ended) {
                ended = true;
                out.onNext(Messages.responseBody(DONE, true, metadata).toByteArray());
            }
        }

        private void finish(boolean ok) {
            if (done) {
                return;
            }
            done = true;
            if (!ok) {
                errors.incrementAndGet();
                counted();
            }
            out.onCompleted();
            closed.countDown();
        }

        @Override
        public void onError(Throwable t) {
            if (!done) {
                done = true;
                errors.incrementAndGet();
                counted();
                closed.countDown();
            }
        }

        @Override
        public void onCompleted() {
            finish(ended);
        }
    }
}
