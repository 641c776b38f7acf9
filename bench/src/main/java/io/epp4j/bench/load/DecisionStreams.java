package io.epp4j.bench.load;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.stub.StreamObserver;
import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The new decisions of one phase: one ext_proc stream per decision, complete when the headers answer and the echo
 * of the last body chunk have arrived; latency counts from the request's intended start. What the streams share:
 * the request sequences they rotate through and the tallies they complete into ({@code inFlight} holds one permit
 * per stream still open).
 */
record DecisionStreams(List<List<ProcessingRequest>> seqs, Histogram latencies, AtomicLong done, AtomicLong errors,
                       Semaphore inFlight) implements OpenLoopRequests {

    @Override
    public void start(ExternalProcessorGrpc.ExternalProcessorStub stub, long n, long startNanos) {
        decide(stub, n, startNanos);
    }

    /** Opens the {@code n}th stream on {@code stub} (its permit already taken), timed from {@code startNanos}. */
    void decide(ExternalProcessorGrpc.ExternalProcessorStub stub, long n, long startNanos) {
        Decision d = new Decision(this, startNanos);
        // Sends and the completing half-close run under the decision's lock: a call observer is not thread-safe.
        synchronized (d) {
            StreamObserver<ProcessingRequest> out = stub.process(d);
            d.out = out;
            for (ProcessingRequest r : seqs.get((int) (n % seqs.size()))) {
                out.onNext(r);
            }
        }
    }

    /**
     * Sends open-loop requests from one connection's event loop, each at its intended time ({@code start + i /
     * rate} for this connection's share {@code i = first, first + step, ...}, later while a ramp is on, see
     * {@link #offsetNanos}): runs once per due request or batch of
     * overdue ones, then schedules itself for the next. A request that finds 10,000 in flight counts as an error;
     * latency counts from the intended time, so a late send is not hidden.
     */
    static final class OpenLoop implements Runnable {
        final OpenLoopRequests streams;
        final ExternalProcessorGrpc.ExternalProcessorStub stub;
        final EventLoop loop;
        final long start;
        final long end;
        final double intervalNanos;
        final double rampNanos;
        final int step;
        final CountDownLatch sent = new CountDownLatch(1);
        long next;

        OpenLoop(OpenLoopRequests streams, ExternalProcessorGrpc.ExternalProcessorStub stub, EventLoop loop,
                 long start, long end, double intervalNanos, int first, int step) {
            this(streams, stub, loop, start, end, intervalNanos, 0, first, step);
        }

        /**
         * @param rampNanos the rate grows linearly from 0 to one request per {@code intervalNanos} over this long
         *     from {@code start} (0: the full rate from the start)
         */
        OpenLoop(OpenLoopRequests streams, ExternalProcessorGrpc.ExternalProcessorStub stub, EventLoop loop,
                 long start, long end, double intervalNanos, double rampNanos, int first, int step) {
            this.streams = streams;
            this.stub = stub;
            this.loop = loop;
            this.start = start;
            this.end = end;
            this.intervalNanos = intervalNanos;
            this.rampNanos = rampNanos;
            this.next = first;
            this.step = step;
        }

        /**
         * When request {@code n} is due, from {@code start}: during the ramp the requests sent by time t number
         * t²/(2·ramp·interval), so request n goes at √(2·ramp·n·interval); after it, at n·interval + ramp/2.
         */
        long offsetNanos(long n) {
            double steady = n * intervalNanos;
            return (long) (steady < rampNanos / 2 ? Math.sqrt(2 * rampNanos * steady) : steady + rampNanos / 2);
        }

        @Override
        public void run() {
            while (true) {
                long intended = start + offsetNanos(next);
                if (intended >= end) {
                    sent.countDown();
                    return;
                }
                long wait = intended - System.nanoTime();
                if (wait > 0) {
                    loop.schedule(this, wait, TimeUnit.NANOSECONDS);
                    return;
                }
                if (streams.inFlight().tryAcquire()) {
                    streams.start(stub, next, intended);
                } else {
                    streams.refused();
                }
                next += step;
            }
        }
    }

    /** One stream: complete when the headers answer and the final body echo have arrived. */
    private static final class Decision implements StreamObserver<ProcessingResponse> {
        final DecisionStreams streams;
        final long start;
        volatile StreamObserver<ProcessingRequest> out;
        boolean headers;
        boolean finished;

        Decision(DecisionStreams streams, long start) {
            this.streams = streams;
            this.start = start;
        }

        @Override
        public synchronized void onNext(ProcessingResponse r) {
            if (finished) {
                return;
            }
            if (r.hasRequestHeaders()) {
                headers = true;
            } else if (r.hasRequestBody() && r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse()
                    .getEndOfStream()) {
                complete(headers);
            } else if (r.hasImmediateResponse()) {
                complete(false);
            }
        }

        private void complete(boolean ok) {
            finished = true;
            if (ok) {
                streams.latencies().recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
                streams.done().incrementAndGet();
            } else {
                streams.errors().incrementAndGet();
            }
            StreamObserver<ProcessingRequest> o = out;
            if (o != null) {
                o.onCompleted();
            }
            streams.inFlight().release();
        }

        @Override
        public synchronized void onError(Throwable t) {
            if (!finished) {
                finished = true;
                streams.errors().incrementAndGet();
                streams.inFlight().release();
            }
        }

        @Override
        public synchronized void onCompleted() {
            if (!finished) {
                complete(false);
            }
        }
    }
}
