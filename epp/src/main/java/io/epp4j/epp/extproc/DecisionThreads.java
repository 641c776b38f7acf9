package io.epp4j.epp.extproc;

import io.epp4j.epp.concurrent.DaemonThreads;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads heavy ext_proc work runs on instead of gRPC's transport threads (one of which reads every stream of a
 * gateway connection): a pool of compute threads, one per core by default, for decisions on large bodies, and a
 * pool that grows as needed for configurations whose plugins wait on I/O (a remote scorer), so a slow service ties
 * up only the requests it scores. With zero compute threads, large decisions run on the transport thread that read
 * the request's last message. Thread-safe.
 */
public final class DecisionThreads implements AutoCloseable {

    /**
     * Bodies (and held responses) from this size on are handled on a decision thread. A 1 KB request costs about
     * 30-50 µs to parse and schedule, no more than a hand-off to another thread and back (a wake-up each way);
     * from about 16 KiB a decision takes a few hundred microseconds and grows with the body, time the transport
     * thread would otherwise spend on it while every other stream of the connection waits.
     */
    public static final int HAND_OFF_BYTES = 16 * 1024;

    private final ExecutorService compute;
    private final ExecutorService blocking;

    private DecisionThreads(ExecutorService compute, ExecutorService blocking) {
        this.compute = compute;
        this.blocking = blocking;
    }

    /**
     * @param computeThreads threads for decisions that only compute; 0 runs them on the transport threads
     */
    public static DecisionThreads create(int computeThreads) {
        if (computeThreads < 0) {
            throw new IllegalArgumentException("decision threads must be >= 0, got " + computeThreads);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService compute = computeThreads == 0 ? null : new ForkJoinPool(computeThreads, pool -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("epp-decision-" + n.incrementAndGet());
            return t;
        }, null, true);
        ExecutorService blocking = Executors.newCachedThreadPool(DaemonThreads.numbered("epp-decision-blocking"));
        return new DecisionThreads(compute, blocking);
    }

    /** One compute thread per available core. */
    public static int defaultComputeThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Where a decision runs: the blocking pool when it may wait on I/O, else the compute pool; null means on the
     * calling (transport) thread.
     */
    Executor executor(boolean mayBlock) {
        return mayBlock ? blocking : compute;
    }

    /** Stops the threads; decisions handed over afterwards run on the calling thread. */
    @Override
    public void close() {
        for (ExecutorService e : new ExecutorService[] {compute, blocking}) {
            if (e != null) {
                e.shutdown();
                try {
                    if (!e.awaitTermination(5, TimeUnit.SECONDS)) {
                        e.shutdownNow();
                    }
                } catch (InterruptedException ie) {
                    e.shutdownNow();
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
