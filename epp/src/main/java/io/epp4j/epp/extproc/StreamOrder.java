package io.epp4j.epp.extproc;

import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Keeps one stream's work in order while its heavy steps run off the transport thread. Work runs on the calling
 * thread (gRPC's transport thread, which reads every stream of a connection) until a step is handed off to a
 * worker; from then on the stream's later work queues behind that step and the worker runs it, until the queue is
 * empty and the stream's work runs on the calling thread again. So a decision runs on a worker in parallel with the
 * connection's other streams, while small steps (a response chunk's echo) cost no thread hand-off.
 *
 * <p>Thread-safe: work of one stream runs on one thread at a time, in the order it was submitted, and each piece
 * sees what the previous one wrote (the lock and the executor hand-off order them).
 */
final class StreamOrder {

    private final Object lock = new Object();
    /** Work waiting behind a handed-off step; non-null exactly while a worker owns the stream. */
    private ArrayDeque<Runnable> queue;
    /** Whether the current thread is the worker draining this stream (read only by the stream's owner). */
    private boolean draining;

    /** Runs {@code work} now, or after the stream's handed-off work when a worker owns the stream. */
    void execute(Runnable work) {
        synchronized (lock) {
            if (queue != null) {
                queue.add(work);
                return;
            }
        }
        work.run();
    }

    /**
     * Runs {@code step} on {@code executor} and everything this stream submits after it behind it; called from the
     * stream's own work. On a worker already, or with no executor, the step runs in place.
     */
    void handOff(Runnable step, Executor executor) {
        if (draining || executor == null) {
            step.run();
            return;
        }
        synchronized (lock) {
            queue = new ArrayDeque<>();
        }
        try {
            executor.execute(() -> drain(step));
        } catch (RejectedExecutionException e) {
            synchronized (lock) {
                queue = null; // shutting down: nothing queued yet, since the caller still owns the stream
            }
            step.run();
        }
    }

    private void drain(Runnable first) {
        draining = true;
        Runnable next = first;
        while (next != null) {
            try {
                next.run();
            } catch (RuntimeException e) {
                // the stream's work handles its own failures; one that escapes must not strand the queue
                LoggerFactory.getLogger(StreamOrder.class).error("ext_proc stream work failed", e);
            }
            synchronized (lock) {
                next = queue.poll();
                if (next == null) {
                    draining = false;
                    queue = null;
                }
            }
        }
    }
}
