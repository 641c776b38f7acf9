package io.epp4j.bench.load;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/** What a {@link DecisionStreams.OpenLoop} starts: one stream a request, each holding a permit of {@link #inFlight}. */
interface OpenLoopRequests {

    /** Opens the {@code n}th stream on {@code stub} (its permit already taken), timed from {@code startNanos}. */
    void start(ExternalProcessorGrpc.ExternalProcessorStub stub, long n, long startNanos);

    Semaphore inFlight();

    AtomicLong errors();

    /** A request was due while {@link #inFlight} had no permit left: the load generator fell behind. */
    default void refused() {
        errors().incrementAndGet();
    }
}
