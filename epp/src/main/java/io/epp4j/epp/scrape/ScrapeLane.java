package io.epp4j.epp.scrape;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * One thread that runs scrape ticks in the order they are due. Ticks due within {@link #EARLY} of the clock run at
 * once, back to back: the loops of a lane drift into one burst per interval, so the thread wakes up once per burst
 * rather than once per scrape (each wake-up is a context switch, a large part of a 100 µs scrape).
 */
final class ScrapeLane implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ScrapeLane.class);
    static final long EARLY = TimeUnit.MILLISECONDS.toNanos(2);

    private record Due(long atNanos, long order, Runnable tick) {
    }

    private final PriorityQueue<Due> queue =
            new PriorityQueue<>(Comparator.comparingLong(Due::atNanos).thenComparingLong(Due::order));
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final LongSupplier nanoTime;
    private final Thread thread;
    private long order;
    private boolean closed;

    ScrapeLane(ThreadFactory threads, LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        this.thread = threads.newThread(this::run);
        thread.start();
    }

    /** Runs {@code tick} on this lane at {@code atNanos}, or up to {@link #EARLY} before; false once closed. */
    boolean schedule(long atNanos, Runnable tick) {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            Due due = new Due(atNanos, order++, tick);
            queue.add(due);
            if (queue.peek() == due && Thread.currentThread() != thread) {
                changed.signal();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (true) {
            Due next;
            lock.lock();
            try {
                while (true) {
                    if (closed) {
                        return;
                    }
                    next = queue.peek();
                    if (next == null) {
                        changed.await();
                        continue;
                    }
                    long wait = next.atNanos() - EARLY - nanoTime.getAsLong();
                    if (wait <= 0) {
                        queue.poll();
                        break;
                    }
                    changed.awaitNanos(wait);
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                next.tick().run();
            } catch (RuntimeException e) {
                // a tick handles its own failures; this keeps a bug from ending every loop of the lane
                LOG.error("Scrape tick failed", e);
            }
        }
    }

    /** Stops the thread (a scrape in progress is interrupted); pending ticks never run. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            queue.clear();
            changed.signal();
        } finally {
            lock.unlock();
        }
        thread.interrupt();
    }

    boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        thread.join(Math.max(1, unit.toMillis(timeout)));
        return !thread.isAlive();
    }
}
