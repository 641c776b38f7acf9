package io.epp4j.epp.extproc;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamOrderTest {

    @Test
    void workRunsInPlaceUntilAStepIsHandedOffThenQueuesBehindItInOrder() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "worker"));
        try {
            StreamOrder order = new StreamOrder();
            List<String> ran = new CopyOnWriteArrayList<>();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch drained = new CountDownLatch(1);
            String caller = Thread.currentThread().getName();

            order.execute(() -> ran.add("1 on " + Thread.currentThread().getName()));
            order.execute(() -> order.handOff(() -> {
                await(release);
                ran.add("2 on " + Thread.currentThread().getName());
            }, worker));
            // while the worker owns the stream, later work queues behind it instead of running here
            order.execute(() -> ran.add("3 on " + Thread.currentThread().getName()));
            order.execute(() -> order.handOff(() -> ran.add("4 on " + Thread.currentThread().getName()), worker));
            order.execute(drained::countDown);
            assertEquals(List.of("1 on " + caller), ran);
            release.countDown();
            assertTrue(drained.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("1 on " + caller, "2 on worker", "3 on worker", "4 on worker"), ran,
                    "queued work runs on the worker, in order; a hand-off there runs in place");

            // the worker gives the stream back when its drain ends; a no-op behind that drain on the single worker
            // thread means it has ended
            worker.submit(() -> { }).get(10, TimeUnit.SECONDS);
            order.execute(() -> ran.add("5 on " + Thread.currentThread().getName()));
            assertEquals("5 on " + caller, ran.get(4), "with the queue drained, work runs in place again");
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void withoutAnExecutorOrAfterShutdownTheStepRunsInPlace() {
        StreamOrder order = new StreamOrder();
        List<String> ran = new CopyOnWriteArrayList<>();
        String caller = Thread.currentThread().getName();
        order.handOff(() -> ran.add(Thread.currentThread().getName()), null);
        ExecutorService stopped = Executors.newSingleThreadExecutor();
        stopped.shutdown();
        order.handOff(() -> ran.add(Thread.currentThread().getName()), stopped);
        order.execute(() -> ran.add(Thread.currentThread().getName()));
        assertEquals(List.of(caller, caller, caller), ran);
    }

    @Test
    void aSuspendedStreamHoldsItsWorkUntilResumedThenRunsTheStepFirst() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "worker"));
        try {
            StreamOrder order = new StreamOrder();
            List<String> ran = new CopyOnWriteArrayList<>();
            String caller = Thread.currentThread().getName();
            order.execute(order::suspend); // a request went into a queue: no thread waits for it
            order.execute(() -> ran.add("held on " + Thread.currentThread().getName()));
            assertEquals(List.of(), ran);

            CountDownLatch drained = new CountDownLatch(1);
            Thread dispatcher = new Thread(() -> order.resume(() -> ran.add("step on "
                    + Thread.currentThread().getName()), worker), "dispatcher");
            dispatcher.start();
            dispatcher.join();
            order.execute(drained::countDown);
            assertTrue(drained.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("step on worker", "held on worker"), ran);

            worker.submit(() -> { }).get(10, TimeUnit.SECONDS);
            order.execute(() -> ran.add("after on " + Thread.currentThread().getName()));
            assertEquals("after on " + caller, ran.get(2), "resumed and drained: work runs in place again");
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void aResumeWhileTheSuspendingStepStillRunsWaitsForItsEnd() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "worker"));
        try {
            StreamOrder order = new StreamOrder();
            List<String> ran = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            // on a worker (a large decision), the request is admitted at once: resumed before the step returns
            order.execute(() -> order.handOff(() -> {
                order.suspend();
                order.resume(() -> ran.add("continuation"), worker);
                ran.add("end of the suspending step");
            }, worker));
            order.execute(() -> {
                ran.add("next message");
                done.countDown();
            });
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("end of the suspending step", "continuation", "next message"), ran);
        } finally {
            worker.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
