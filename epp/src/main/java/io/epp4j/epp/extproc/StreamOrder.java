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
    /** Work waiting behind a handed-off step or a suspension; non-null exactly while either holds the stream. */
    private ArrayDeque<Runnable> queue;
    /** Whether the current thread is the worker draining this stream (read only by the stream's owner). */
    private boolean draining;
    /** Between {@link #suspend} and {@link #resume}: the stream's work waits. */
    private boolean suspended;
    /** The thread running the step that suspended the stream, until that step returns; else null. */
    private Thread suspender;
    /** A resumption that came while the suspending step was still running; that step's thread starts it. */
    private Runnable resumeStep;
    private Executor resumeExecutor;

    /** Runs {@code work} now, or after the stream's handed-off work when a worker owns the stream. */
    void execute(Runnable work) {
        synchronized (lock) {
            if (queue != null) {
                queue.add(work);
                return;
            }
        }
        work.run();
        afterStep();
    }

    /**
     * Holds the stream's later work until {@link #resume}; called from the stream's own work (a request that waits
     * in a flow-control queue, holding no thread meanwhile).
     */
    void suspend() {
        synchronized (lock) {
            if (queue == null) {
                queue = new ArrayDeque<>();
            }
            suspended = true;
            suspender = Thread.currentThread();
        }
    }

    /**
     * Ends a {@link #suspend}: runs {@code step} on {@code executor} (here when null), then the work held meanwhile.
     * May be called from any thread, even before the suspending step has returned (it then starts it itself).
     */
    void resume(Runnable step, Executor executor) {
        synchronized (lock) {
            suspended = false;
            if (suspender != null) {
                resumeStep = step;
                resumeExecutor = executor;
                return;
            }
        }
        start(step, executor);
    }

    /** After a step that ran in place: starts a resumption that came while it ran. */
    private void afterStep() {
        Runnable step;
        Executor executor;
        synchronized (lock) {
            if (suspender != Thread.currentThread()) {
                return; // the step did not suspend the stream (or handed it to a worker, which did)
            }
            suspender = null;
            step = resumeStep;
            executor = resumeExecutor;
            resumeStep = null;
            resumeExecutor = null;
        }
        if (step != null) {
            start(step, executor);
        }
    }

    private void start(Runnable step, Executor executor) {
        if (executor == null) {
            drain(step);
            return;
        }
        try {
            executor.execute(() -> drain(step));
        } catch (RejectedExecutionException e) {
            drain(step); // shutting down
        }
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
                if (suspender == Thread.currentThread()) {
                    suspender = null;
                }
                if (suspender == null && resumeStep != null) {
                    next = resumeStep; // resumed while the suspending step ran: go on here
                    resumeStep = null;
                    resumeExecutor = null;
                    continue;
                }
                if (suspended) {
                    draining = false; // parked: resume() starts a drainer again
                    return;
                }
                next = queue.poll();
                if (next == null) {
                    draining = false;
                    queue = null;
                }
            }
        }
    }
}
