package io.epp4j.epp.scrape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScrapeLaneTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private final AtomicLong now = new AtomicLong();
    private final ScrapeLane lane = new ScrapeLane(r -> {
        Thread t = new Thread(r, "test-lane");
        t.setDaemon(true);
        return t;
    }, now::get);

    @AfterEach
    void close() throws InterruptedException {
        lane.close();
        assertTrue(lane.awaitTermination(5, TimeUnit.SECONDS));
    }

    @Test
    void runsTicksDueWithinTheEarlyWindowAtOnceInDueOrder() throws Exception {
        List<String> ran = new CopyOnWriteArrayList<>();
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        lane.schedule(0, () -> {
            busy.countDown();
            await(release);
        });
        assertTrue(busy.await(5, TimeUnit.SECONDS));
        // both queued while the lane is busy; neither is due yet by the lane's clock (0), both within EARLY
        lane.schedule(ScrapeLane.EARLY - MS / 2, () -> ran.add("later"));
        lane.schedule(ScrapeLane.EARLY - MS, () -> ran.add("sooner"));
        CountDownLatch done = new CountDownLatch(1);
        lane.schedule(ScrapeLane.EARLY, done::countDown);
        release.countDown();
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(List.of("sooner", "later"), ran);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void waitsForTicksDueLaterUntilTheClockGetsThere() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        lane.schedule(50 * MS, ran::countDown);
        assertFalse(ran.await(100, TimeUnit.MILLISECONDS), "the lane's clock is still at 0");
        now.set(49 * MS);
        assertTrue(ran.await(5, TimeUnit.SECONDS), "due within the early window once the clock moved");
    }

    @Test
    void aFailingTickDoesNotStopTheLane() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        lane.schedule(0, () -> {
            throw new IllegalStateException("bug in a tick");
        });
        lane.schedule(0, ran::countDown);
        assertTrue(ran.await(5, TimeUnit.SECONDS));
    }

    @Test
    void closeDropsPendingTicksAndRefusesNewOnes() throws Exception {
        AtomicLong ran = new AtomicLong();
        lane.schedule(Long.MAX_VALUE / 2, ran::incrementAndGet);
        lane.close();
        assertTrue(lane.awaitTermination(5, TimeUnit.SECONDS));
        assertFalse(lane.schedule(0, ran::incrementAndGet));
        assertEquals(0, ran.get());
    }
}
