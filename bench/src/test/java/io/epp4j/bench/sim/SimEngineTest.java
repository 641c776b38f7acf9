package io.epp4j.bench.sim;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimEngineTest {

    private final AtomicLong now = new AtomicLong();

    private SimEngine engine(int maxNumSeqs, int maxWaiting, List<String> loras, int maxLoras) {
        SimConfig c = SimConfig.defaults("base").withCapacity(maxNumSeqs, maxWaiting, 1000).withLoras(loras, maxLoras);
        return new SimEngine(c, now::get);
    }

    @Test
    void runsUpToMaxNumSeqsAndQueuesTheRestInArrivalOrder() throws Exception {
        SimEngine e = engine(2, 10, List.of(), 1);
        SimEngine.Sequence a = e.submit(null, "prompt a", 4);
        SimEngine.Sequence b = e.submit(null, "prompt b", 4);
        SimEngine.Sequence c = e.submit(null, "prompt c", 4);
        SimEngine.Sequence d = e.submit(null, "prompt d", 4);
        assertTrue(e.isRunning(a) && e.isRunning(b));
        assertFalse(e.isRunning(c) || e.isRunning(d));
        assertEquals(2, e.snapshot().running());
        assertEquals(2, e.snapshot().waiting());
        now.addAndGet(5_000);
        e.finish(a, "length", 4);
        assertTrue(e.isRunning(c));
        assertFalse(e.isRunning(d));
        assertEquals(5_000, c.queueNanos());
        assertEquals(1, e.snapshot().finishedLength());
    }

    @Test
    void fullWaitingQueueRejectsWith429() throws Exception {
        SimEngine e = engine(1, 1, List.of(), 1);
        e.submit(null, "running", 1);
        e.submit(null, "waiting", 1);
        SimEngine.RejectedException ex = assertThrows(SimEngine.RejectedException.class, () -> e.submit(null, "x", 1));
        assertEquals(429, ex.status());
    }

    @Test
    void promptLongerThanTheModelAcceptsIsRejectedWith400() {
        SimConfig c = new SimConfig("base", List.of(), 1, 4, 10, 1000, 16, 1, 1, 1, 1, 0, 16, 100, 1, 1);
        SimEngine e = new SimEngine(c, now::get);
        assertEquals(400, assertThrows(SimEngine.RejectedException.class,
                () -> e.submit(null, "x".repeat(400), 10)).status());
    }

    @Test
    void requestForAnUnloadedAdapterWaitsForALoraSlotWhileOthersPassIt() throws Exception {
        SimEngine e = engine(8, 10, List.of("sql", "chat"), 1);
        SimEngine.Sequence sql = e.submit("sql", "q1", 1);
        SimEngine.Sequence chat = e.submit("chat", "q2", 1);
        SimEngine.Sequence sql2 = e.submit("sql", "q3", 1);
        SimEngine.Sequence base = e.submit(null, "q4", 1);
        assertTrue(e.isRunning(sql));
        assertFalse(e.isRunning(chat), "only one adapter may be active");
        assertTrue(e.isRunning(sql2), "the active adapter is not limited");
        assertTrue(e.isRunning(base), "base-model requests need no slot");
        assertEquals(List.of("sql"), e.snapshot().runningAdapters());
        assertEquals(List.of("chat"), e.snapshot().waitingAdapters());
        e.finish(sql, "stop", 1);
        assertFalse(e.isRunning(chat));
        e.finish(sql2, "stop", 1);
        assertTrue(e.isRunning(chat));
    }

    @Test
    void countsPrefixCacheQueriesAndHitsInTokens() throws Exception {
        SimEngine e = engine(4, 10, List.of(), 1);
        String prompt = "y".repeat(64 * 3); // three full 16-token blocks
        e.finish(e.submit(null, prompt, 1), "length", 1);
        SimEngine.Sequence again = e.submit(null, prompt, 1);
        assertEquals(48, again.cachedTokens(16));
        SimEngine.Snapshot s = e.snapshot();
        assertEquals(96, s.prefixQueries());
        assertEquals(48, s.prefixHits());
    }

    @Test
    void prefillsQueueBehindEachOther() {
        SimEngine e = engine(4, 10, List.of(), 1);
        assertEquals(100, e.reservePrefill(100));
        assertEquals(300, e.reservePrefill(200));
        now.addAndGet(1_000);
        assertEquals(50, e.reservePrefill(50), "an idle lane starts at once");
    }

    @Test
    void requestsWhosePrefillHasNotStartedAreReportedAsWaiting() throws Exception {
        SimEngine e = engine(4, 10, List.of(), 1);
        e.submit(null, "a", 1);
        e.submit(null, "b", 1);
        e.reservePrefill(100);
        e.reservePrefill(100);
        assertEquals(1, e.snapshot().running(), "the first prefill runs");
        assertEquals(1, e.snapshot().waiting(), "the second waits for the prefill lane");
        now.addAndGet(100);
        assertEquals(2, e.snapshot().running());
        assertEquals(0, e.snapshot().waiting());
    }

    @Test
    void decodeSlowsDownLinearlyWithTheBatch() {
        SimEngine e = engine(5, 10, List.of(), 1);
        assertEquals(1.0, e.loadMultiplier(1));
        assertEquals(1.5, e.loadMultiplier(3));
        assertEquals(2.0, e.loadMultiplier(5));
    }
}
