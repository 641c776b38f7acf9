package io.epp4j.bench.sim;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepEngineTest {

    /** 10 ms a step plus 0.01 ms a token; no attention terms; a budget of 1,000 tokens; adapters load in 50 ms. */
    private static final StepProfile ROUND = new StepProfile("round", 10, 0.01, 0, 0, 1000, 8, 1000, 50, 1, 0.001);
    private static final long MS = 1_000_000;

    private static SimConfig config(int maxNumSeqs, int kvBlocks, List<String> loras, int maxLoras) {
        return SimConfig.stepDefaults("base", ROUND).withCapacity(maxNumSeqs, 10, kvBlocks).withLoras(loras, maxLoras);
    }

    private static String prompt(char c, int tokens) {
        return String.valueOf(c).repeat(tokens * SimConfig.CHARS_PER_TOKEN);
    }

    /** Records every event, and steps an engine to the end. */
    private static final class Recorder implements EngineCore.Events {
        final List<String> log = new ArrayList<>();

        @Override
        public void firstToken(Seq seq, long at) {
            log.add(seq.tag() + " first@" + at / MS);
        }

        @Override
        public void token(Seq seq, long at) {
            log.add(seq.tag() + " token@" + at / MS);
        }

        @Override
        public void finished(Seq seq, long at) {
            log.add(seq.tag() + " done@" + at / MS);
        }

        long lastStepEnd;

        @Override
        public void stepEnded(long at) {
            lastStepEnd = at;
        }

        void runToEnd(EngineCore e) {
            while (e.nextEventNanos() != Long.MAX_VALUE) {
                e.advance(e.nextEventNanos(), this);
            }
        }
    }

    @Test
    void aStepTakesTheProfilesTimeForWhatItBatches() throws Exception {
        StepEngine e = new StepEngine(config(8, 1000, List.of(), 1));
        Seq s = e.submit(null, prompt('a', 500), 3, "a", 0);
        Recorder r = new Recorder();
        e.advance(0, r); // plans the first step
        assertEquals((long) ((10 + 0.01 * 500) * MS), e.nextEventNanos(), "a 500-token prefill step: 15 ms");
        r.runToEnd(e);
        // first token with the prefill step, then one decode step (10.01 ms) per token
        assertEquals(List.of("a first@15", "a token@25", "a token@35", "a done@35"), r.log);
        assertEquals(15 * MS, s.firstTokenNanos());
    }

    @Test
    void longPromptsArePrefilledInChunksBesideTheDecodesThatGoFirst() throws Exception {
        StepEngine e = new StepEngine(config(8, 1000, List.of(), 1));
        Recorder r = new Recorder();
        e.submit(null, prompt('d', 100), 50, "decoder", 0);
        e.advance(0, r);
        e.advance(e.nextEventNanos(), r); // the decoder's prefill step: it decodes from now on
        long t = e.nextEventNanos();
        Seq longPrompt = e.submit(null, prompt('p', 2500), 2, "long", t - 1);
        int decoderTokensBefore = (int) r.log.stream().filter(l -> l.startsWith("decoder")).count();
        while (longPrompt.firstTokenNanos() < 0) {
            e.advance(e.nextEventNanos(), r);
        }
        long decoderTokens = r.log.stream().filter(l -> l.startsWith("decoder")).count() - decoderTokensBefore;
        // 2,500 tokens at 999 a step (the decoder takes one of the 1,000) need 3 chunk steps after the decode-only
        // step it arrived in, and the decoder gets a token in every one of them
        assertEquals(4, decoderTokens, "the decoder kept its token every step: " + r.log);
        assertTrue(longPrompt.firstTokenNanos() - t >= (long) (3 * 10 * MS + 2500 * 0.01 * MS),
                "three chunked steps of about 1,000 tokens");
    }

    @Test
    void runsAtMostMaxNumSeqsAndAdmitsWaitingRequestsInArrivalOrder() throws Exception {
        StepEngine e = new StepEngine(config(2, 1000, List.of(), 1));
        Seq a = e.submit(null, prompt('a', 10), 3, "a", 0);
        Seq b = e.submit(null, prompt('b', 10), 3, "b", 0);
        Seq c = e.submit(null, prompt('c', 10), 3, "c", 0);
        Seq d = e.submit(null, prompt('d', 10), 3, "d", 0);
        e.advance(0, new Recorder());
        EngineCore.Snapshot snap = e.snapshot(0);
        assertEquals(2, snap.running());
        assertEquals(2, snap.waiting());
        new Recorder().runToEnd(e);
        assertTrue(c.scheduledNanos() >= a.finishedNanos() && d.scheduledNanos() >= b.finishedNanos());
        assertTrue(c.scheduledNanos() <= d.scheduledNanos());
    }

    @Test
    void aSecondRequestReusesTheBlocksTheFirstComputedButNeverTheWholePrompt() throws Exception {
        StepEngine e = new StepEngine(config(8, 1000, List.of(), 1));
        e.submit(null, prompt('x', 64) + prompt('y', 8), 1, "first", 0);
        new Recorder().runToEnd(e);
        Seq second = e.submit(null, prompt('x', 64) + prompt('z', 8), 1, "second", 100 * MS);
        Seq same = e.submit(null, prompt('x', 64), 1, "same", 100 * MS);
        new Recorder().runToEnd(e);
        assertEquals(64, second.cachedTokens(), "four 16-token blocks of the shared 64-token prefix");
        assertEquals(48, same.cachedTokens(), "an identical prompt still computes its last block");
        EngineCore.Snapshot snap = e.snapshot(0);
        assertEquals(64 + 48, snap.prefixHits());
    }

    @Test
    void aPromptPartlyPrefilledIsPartlyCachedForTheNextRequest() throws Exception {
        StepEngine e = new StepEngine(config(8, 1000, List.of(), 1));
        Recorder r = new Recorder();
        e.submit(null, prompt('q', 1600), 1, "first", 0); // two chunk steps: 1,000 then 600 tokens
        e.advance(0, r);
        // arrives during the first chunk; admitted beside the second chunk, after the first one's blocks are cached
        Seq next = e.submit(null, prompt('q', 1600) + prompt('r', 16), 1, "next", e.nextEventNanos() - 1);
        r.runToEnd(e);
        assertEquals(992, next.cachedTokens(), "the 62 full blocks of the first chunk, not the second");
    }

    @Test
    void aRequestThatRunsOutOfKvBlocksIsPreemptedAndRecomputed() throws Exception {
        // 20 blocks of 16 tokens: two requests of 8 + 200 tokens (13 blocks each) cannot both finish
        StepEngine e = new StepEngine(config(8, 20, List.of(), 1));
        Seq a = e.submit(null, prompt('a', 8), 200, "a", 0);
        Seq b = e.submit(null, prompt('b', 8), 200, "b", 0);
        Recorder r = new Recorder();
        r.runToEnd(e);
        assertEquals(200, a.generated());
        assertEquals(200, b.generated());
        assertEquals(0, a.preemptions(), "the request admitted first keeps running");
        assertTrue(b.preemptions() > 0, "the later one gives its blocks up");
        assertTrue(e.snapshot(0).preemptions() > 0);
        assertEquals(0, e.snapshot(0).kvUsage(), 1e-9, "everything released at the end");
    }

    @Test
    void anAdapterWaitsForALoraSlotWhileOthersPassItAndLoadingCostsTime() throws Exception {
        StepEngine e = new StepEngine(config(8, 1000, List.of("sql", "chat"), 1));
        Seq sql = e.submit("sql", prompt('s', 10), 5, "sql", 0);
        Seq chat = e.submit("chat", prompt('c', 10), 1, "chat", 0);
        Seq base = e.submit(null, prompt('b', 10), 1, "base", 0);
        e.advance(0, new Recorder());
        assertEquals((long) ((10 + 0.01 * 20 + 50) * MS), e.nextEventNanos(), "sql is loaded in the first step");
        new Recorder().runToEnd(e);
        assertEquals(0, base.scheduledNanos(), "a base-model request passes the adapter that has no slot");
        assertTrue(chat.scheduledNanos() >= sql.finishedNanos(), "chat waits for sql's slot");
    }

    @Test
    void refusesWhatCanNeverFitAndAFullWaitingQueue() throws Exception {
        StepEngine e = new StepEngine(config(1, 10, List.of(), 1).withCapacity(1, 1, 10));
        assertEquals(400, assertThrows(EngineCore.RejectedException.class,
                () -> e.submit(null, prompt('x', 200), 1, "big", 0)).status());
        e.submit(null, prompt('a', 10), 5, "a", 0);
        e.advance(0, new Recorder()); // a runs
        e.submit(null, prompt('b', 10), 5, "b", 0);
        assertEquals(429, assertThrows(EngineCore.RejectedException.class,
                () -> e.submit(null, prompt('c', 10), 1, "c", 0)).status());
    }

    @Test
    void anAbortedRequestFreesItsSlotAndBlocksAtOnce() throws Exception {
        StepEngine e = new StepEngine(config(1, 1000, List.of(), 1));
        Recorder r = new Recorder();
        Seq a = e.submit(null, prompt('a', 100), 1000, "a", 0);
        Seq b = e.submit(null, prompt('b', 10), 1, "b", 0);
        e.advance(0, r);
        e.advance(e.nextEventNanos(), r);
        e.abort(a, e.nextEventNanos() - 1, r);
        r.runToEnd(e);
        assertTrue(a.aborted());
        assertEquals(1, b.generated());
        assertEquals(1, e.snapshot(0).finishedAbort());
        assertTrue(r.log.contains("a done@" + a.finishedNanos() / MS));
    }

    @Test
    void aWhatIfLeavesTheEngineAsItWasAndMatchesWhatThenHappens() throws Exception {
        StepEngine e = new StepEngine(config(4, 1000, List.of(), 1));
        e.submit(null, prompt('a', 900), 20, "a", 0);
        e.submit(null, prompt('b', 700), 20, "b", 0);
        e.advance(0, new Recorder());
        e.advance(e.nextEventNanos(), new Recorder());
        long now = e.nextEventNanos() - 1;
        EngineCore.Snapshot before = e.snapshot(now);
        long predicted = e.whatIfFirstToken(null, prompt('c', 1200), 5, now, Long.MAX_VALUE);
        assertEquals(before, e.snapshot(now), "the what-if ran on a copy");
        Seq c = e.submit(null, prompt('c', 1200), 5, "c", now);
        new Recorder().runToEnd(e);
        assertEquals(c.firstTokenNanos(), predicted, "nothing else arrived, so the copy saw the future");
        assertEquals(Long.MAX_VALUE, e.whatIfFirstToken(null, prompt('d', 10), 1, 0, -1), "gives up at the limit");
    }

    @Test
    void aWhatIfBlindToTheStepsEndPutsItHalfAStepAwayAndOneThatSawItsStartTakesTheLastStepsLength()
            throws Exception {
        StepEngine e = new StepEngine(config(4, 1000, List.of(), 1));
        e.submit(null, prompt('a', 10), 50, "a", 0);
        Recorder r = new Recorder();
        e.advance(0, r);
        for (int k = 0; k < 3; k++) {
            e.advance(e.nextEventNanos(), r); // decode steps of one request: all the same length
        }
        long stepEnd = e.nextEventNanos();
        long step = stepEnd - r.lastStepEnd;
        long now = r.lastStepEnd + MS; // 1 ms into the step
        String c = prompt('c', 10);
        long exact = e.whatIfFirstToken(null, c, 1, now, Long.MAX_VALUE);
        assertEquals(exact, e.whatIfFirstToken(null, c, 1, now, Long.MAX_VALUE, EngineCore.StepKnowledge.EXACT));
        assertEquals(exact, e.whatIfFirstToken(null, c, 1, now, Long.MAX_VALUE, EngineCore.StepKnowledge.LAST_STEP),
                "the step began when the last one's tokens came out and is as long as it");
        assertEquals(exact - (stepEnd - now) + step / 2,
                e.whatIfFirstToken(null, c, 1, now, Long.MAX_VALUE, EngineCore.StepKnowledge.NONE),
                "without its phase the step in flight ends half its length from now");
    }

    @Test
    void lanesModelKeepsItsFifoPrefillLaneAndLoadFactor() throws Exception {
        SimConfig lanes = SimConfig.defaults("base").withLatency(30, 1, 10, 2.0).withCapacity(3, 10, 1000);
        LanesEngine e = new LanesEngine(lanes);
        Seq a = e.submit(null, prompt('a', 100), 2, "a", 0);
        Seq b = e.submit(null, prompt('b', 100), 2, "b", 0);
        new Recorder().runToEnd(e);
        assertEquals(130 * MS, a.firstTokenNanos(), "30 ms + 100 tokens at 1 ms");
        assertEquals(260 * MS, b.firstTokenNanos(), "b's prefill waits for a's in the one lane");
        assertFalse(a.aborted());
        // two running of three slots: 10 ms x (1 + (2 - 1) / 2)
        assertEquals(145 * MS, a.finishedNanos());
    }
}
