package io.epp4j.epp.scrape;

import okhttp3.ConnectionPool;
import okhttp3.internal.concurrent.TaskRunner;
import okhttp3.internal.connection.ConnectionListener;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * OkHttp connection pools whose idle-connection cleanup runs on a relaxed timer instead of after every call.
 *
 * <p>OkHttp asks for its pool's cleanup to run at once whenever a connection goes back to the pool, which for a
 * scraper is after every scrape: two thread wake-ups per scrape (the task runner's coordinator, then a worker)
 * and about a fifth of the scraper's CPU at 256 endpoints every 50 ms (bench/results/metrics.md). The task runner
 * here ignores those "run now" nudges and looks for due work at least every {@link #MAX_CLEANUP_DELAY}, so an idle
 * connection is closed at most that much after its keep-alive ran out. Nothing else uses this runner.
 *
 * <p>This relies on OkHttp's internal task-runner API ({@code okhttp3.internal.concurrent}: public in the
 * bytecode, not a stable API), so the OkHttp version is pinned; {@code ScrapeConnectionPoolsTest} checks that idle
 * connections are still closed.
 */
final class ScrapeConnectionPools implements AutoCloseable {

    static final Duration MAX_CLEANUP_DELAY = Duration.ofSeconds(1);

    private final TaskRunner.RealBackend backend;
    private final TaskRunner runner;

    ScrapeConnectionPools(ThreadFactory threads) {
        backend = new TaskRunner.RealBackend(threads);
        runner = new TaskRunner(new RelaxedBackend(backend), Logger.getLogger(TaskRunner.class.getName()));
    }

    ConnectionPool newPool(int maxIdleConnections, Duration keepAlive) {
        return new ConnectionPool(maxIdleConnections, keepAlive.toNanos(), TimeUnit.NANOSECONDS, runner,
                ConnectionListener.Companion.getNONE());
    }

    /** Stops the cleanup thread once it has nothing left to do; evict the pools' connections first. */
    @Override
    public void close() {
        synchronized (runner) {
            // OkHttp's runner is its own lock (and asserts that callers hold it)
            runner.cancelAll();
        }
        backend.shutdown();
    }

    /** OkHttp's own backend, except that it is never woken early and never sleeps longer than the delay above. */
    private static final class RelaxedBackend implements TaskRunner.Backend {
        private final TaskRunner.RealBackend real;

        RelaxedBackend(TaskRunner.RealBackend real) {
            this.real = real;
        }

        @Override
        public long nanoTime() {
            return real.nanoTime();
        }

        @Override
        public void coordinatorNotify(TaskRunner taskRunner) {
            // no wake-up: the coordinator finds the new work on its next check
        }

        @Override
        public void coordinatorWait(TaskRunner taskRunner, long nanos) {
            try {
                real.coordinatorWait(taskRunner, Math.min(nanos, MAX_CLEANUP_DELAY.toNanos()));
            } catch (InterruptedException e) {
                // The runner expects the interruption itself (it is how cancelAll() ends the wait).
                throwUnchecked(e);
            }
        }

        @Override
        public <T> BlockingQueue<T> decorate(BlockingQueue<T> queue) {
            return real.decorate(queue);
        }

        @Override
        public void execute(TaskRunner taskRunner, Runnable runnable) {
            real.execute(taskRunner, runnable);
        }

        @SuppressWarnings("unchecked")
        private static <T extends Throwable> void throwUnchecked(Throwable t) throws T {
            throw (T) t;
        }
    }
}
