package io.epp4j.scorers;

import io.epp4j.scorers.load.PrefillBacklogScorer;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefillBacklogScorerTest {

    private static final String PROMPT_4000_TOKENS = "x".repeat(16_000);
    private final List<Endpoint> endpoints = List.of(endpoint(0, 0, 0, 0.1), endpoint(1, 0, 0, 0.1));
    private final PrefillBacklogScorer scorer = new PrefillBacklogScorer(null,
            new PluginParameters(Map.of("requestOverheadTokens", 100)));

    private double[] score(CycleState state, InferenceRequest request) {
        double[] scores = new double[endpoints.size()];
        scorer.score(state, request, endpoints, scores);
        return scores;
    }

    /** Schedules {@code request} onto endpoint {@code target}, as the EPP does after the pick. */
    private CycleState pick(CycleState state, InferenceRequest request, int target) {
        scorer.preRequest(state, request, new SchedulingResult("default", List.of(endpoints.get(target))));
        return state;
    }

    @Test
    void anIdleFleetScoresEveryEndpointAlike() {
        assertArrayEquals(new double[] {1.0, 1.0}, score(new CycleState(), request(PROMPT_4000_TOKENS)), 1e-9);
    }

    @Test
    void eachPickCountsAtOnceUntilItsFirstResponseBytes() {
        InferenceRequest first = request(PROMPT_4000_TOKENS);
        CycleState firstState = pick(new CycleState(), first, 0);
        assertEquals(4000, scorer.backlogTokens(endpoints.get(0).info().name()));

        // no scrape happened, yet the next request already sees endpoint 0 busy: (0 + 4000 + 100) vs (4000 + 4000 + 200)
        assertArrayEquals(new double[] {4100.0 / 8200, 1.0}, score(new CycleState(), request(PROMPT_4000_TOKENS)), 1e-9);

        scorer.onResponseBody(firstState, first, endpoints.get(0), ByteSlice.of("data: {\"text\":\"a\"}\n\n"), false);
        assertEquals(0, scorer.backlogTokens(endpoints.get(0).info().name()), "prefilled: the backlog is empty again");
        scorer.onResponseBody(firstState, first, endpoints.get(0), ByteSlice.of("data: {\"text\":\"b\"}\n\n"), false);
        scorer.onComplete(firstState, first, endpoints.get(0), null, true);
        assertEquals(0, scorer.backlogTokens(endpoints.get(0).info().name()), "released exactly once");
        assertArrayEquals(new double[] {1.0, 1.0}, score(new CycleState(), request(PROMPT_4000_TOKENS)), 1e-9);
    }

    @Test
    void withAProducerNamedTheMatchComesFromItsPrefixMatchInfo() {
        PrefillBacklogScorer precise = new PrefillBacklogScorer(null, new PluginParameters(Map.of(
                "requestOverheadTokens", 100, "prefixMatchInfoProducerName", "events")));
        CycleState state = new CycleState();
        // the events say endpoint 1 holds three quarters of the prompt
        state.put(PrefixMatchInfo.keyFor("events"),
                new PrefixMatchInfo() {
                    @Override
                    public int totalBlocks() {
                        return 250;
                    }

                    @Override
                    public double matchedBlocks(Endpoint endpoint) {
                        return endpoint == endpoints.get(1) ? 187.5 : 0;
                    }
                });
        double[] scores = new double[2];
        InferenceRequest r = request(PROMPT_4000_TOKENS);
        precise.score(state, r, endpoints, scores);
        // (4000 + 100) against (1000 + 100)
        assertArrayEquals(new double[] {1100.0 / 4100, 1.0}, scores, 1e-9);
        precise.preRequest(state, r, new SchedulingResult("default", List.of(endpoints.get(1))));
        assertEquals(1000, precise.backlogTokens(endpoints.get(1).info().name()), "the pick queues what it misses");

        double[] without = new double[2];
        precise.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, without);
        // no info left: the whole prompt everywhere, behind endpoint 1's backlog
        assertArrayEquals(new double[] {1.0, 4100.0 / 5200}, without, 1e-9);
    }

    @Test
    void aRequestThatFailsBeforeAnyResponseLeavesTheBacklogAtItsEnd() {
        InferenceRequest r = request(PROMPT_4000_TOKENS);
        CycleState state = pick(new CycleState(), r, 1);
        scorer.onComplete(state, r, endpoints.get(1), null, false);
        assertEquals(0, scorer.backlogTokens(endpoints.get(1).info().name()));
    }

    @Test
    void endpointsWithNothingPendingAreForgotten() {
        InferenceRequest a = request(PROMPT_4000_TOKENS);
        InferenceRequest b = request(PROMPT_4000_TOKENS);
        CycleState stateA = pick(new CycleState(), a, 0);
        CycleState stateB = pick(new CycleState(), b, 0);
        scorer.onComplete(stateA, a, endpoints.get(0), null, true);
        assertEquals(1, scorer.trackedEndpoints(), "one request still pending");
        assertEquals(4000, scorer.backlogTokens(endpoints.get(0).info().name()));
        scorer.onComplete(stateB, b, endpoints.get(0), null, true);
        assertEquals(0, scorer.trackedEndpoints(), "a pod that went away leaves no state behind");
    }

    @Test
    void aCacheHitBehindAShortBacklogBeatsAMissOnAnIdleEndpoint() {
        // endpoint 0 holds the whole prompt but is prefilling a 1,000-token request; endpoint 1 is idle and cold
        pick(new CycleState(), request("y".repeat(4_000)), 0);
        CycleState state = PrefixLoadCostScorerTest.matchState(endpoints, 100, 100, 0);
        double[] scores = score(state, request(PROMPT_4000_TOKENS));
        // costs: 1000 + 0 + 100 × 2 = 1200 vs 0 + 4000 + 100 = 4100
        assertArrayEquals(new double[] {1.0, 1200.0 / 4100}, scores, 1e-9);
    }

    @Test
    void aMissOnAnIdleEndpointBeatsAHitBehindALongBacklog() {
        for (int i = 0; i < 3; i++) {
            pick(new CycleState(), request("z".repeat(8_000)), 0);
        }
        CycleState state = PrefixLoadCostScorerTest.matchState(endpoints, 100, 100, 0);
        double[] scores = score(state, request(PROMPT_4000_TOKENS));
        // costs: 6000 + 0 + 100 × 4 = 6400 vs 4100
        assertTrue(scores[1] > scores[0], java.util.Arrays.toString(scores));
    }

    @Test
    void aHeavierUncachedWeightKeepsTheRequestOnItsCachedEndpointLonger() {
        PrefillBacklogScorer sticky = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "uncachedTokenWeight", 3)));
        for (int i = 0; i < 3; i++) {
            sticky.preRequest(new CycleState(), request("z".repeat(8_000)),
                    new SchedulingResult("default", List.of(endpoints.get(0))));
        }
        double[] scores = new double[2];
        sticky.score(PrefixLoadCostScorerTest.matchState(endpoints, 100, 100, 0), request(PROMPT_4000_TOKENS),
                endpoints, scores);
        // costs: 6000 + 0 + 100 × 4 = 6400 vs 3 × 4000 + 100 = 12100: the miss now costs more than the wait
        assertArrayEquals(new double[] {1.0, 6400.0 / 12100}, scores, 1e-9);
    }

    @Test
    void withPrefillProgressTheOldestPendingPromptCountsAsPartlyDoneAtTheLearntRate() {
        long[] now = {0};
        PrefillBacklogScorer progress = withPrefillProgress(now);
        answerOnEndpoint1(progress, now, 16, true);
        // endpoint 0 gets a 4,000-token prompt, then a 100,000-token one behind it
        InferenceRequest first = streamed(PROMPT_4000_TOKENS);
        CycleState firstState = new CycleState();
        progress.preRequest(firstState, first, new SchedulingResult("default", List.of(endpoints.get(0))));
        progress.preRequest(new CycleState(), request("h".repeat(400_000)),
                new SchedulingResult("default", List.of(endpoints.get(0))));
        double[] scores = new double[2];
        progress.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        // costs: 104,000 pending + 4,000 vs 4,000
        assertArrayEquals(new double[] {4000.0 / 108_000, 1.0}, scores, 1e-6);

        now[0] += millis(100); // halfway through the first prompt's 210 ms
        progress.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        assertArrayEquals(new double[] {4000.0 / (108_000 - 1800), 1.0}, scores, 1e-6);

        now[0] += millis(110); // its first token: the long prompt starts now
        progress.onResponseBody(firstState, first, endpoints.get(0), ByteSlice.of("data: x\n\n"), false);
        now[0] += millis(2510);
        progress.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        assertArrayEquals(new double[] {4000.0 / (104_000 - 50_000), 1.0}, scores, 1e-6);
        assertEquals(100_000, progress.backlogTokens(endpoints.get(0).info().name()), "pending tokens unchanged");

        now[0] += millis(10_000); // long overdue: counted as done, never below nothing
        progress.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-6);

        // without the parameter the long prompt counts in full until its first token
        PrefillBacklogScorer plain = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 0)), () -> now[0]);
        plain.preRequest(new CycleState(), request("h".repeat(400_000)),
                new SchedulingResult("default", List.of(endpoints.get(0))));
        now[0] += millis(10_000);
        plain.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        assertArrayEquals(new double[] {4000.0 / 104_000, 1.0}, scores, 1e-6);
    }

    @Test
    void prefillProgressLearnsOnlyFromStreamedResponses() {
        long[] now = {0};
        PrefillBacklogScorer progress = withPrefillProgress(now);
        // whole (non-streamed) answers arrive after the last token: their times say nothing about prefill
        answerOnEndpoint1(progress, now, 32, false);
        progress.preRequest(new CycleState(), request("h".repeat(400_000)),
                new SchedulingResult("default", List.of(endpoints.get(0))));
        now[0] += millis(10_000);
        double[] scores = new double[2];
        progress.score(new CycleState(), request(PROMPT_4000_TOKENS), endpoints, scores);
        assertArrayEquals(new double[] {4000.0 / 104_000, 1.0}, scores, 1e-6);
    }

    /**
     * Endpoint 1 answers {@code count} prompts of 1,000-4,000 tokens one after another, each after 10 ms + 0.05 ms
     * per token ({@code now} advances): streamed (first token then) or whole (one body at the end).
     */
    /** A scorer with {@code prefillProgress} on and no per-request overhead, reading time from {@code now[0]}. */
    private static PrefillBacklogScorer withPrefillProgress(long[] now) {
        return new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 0, "prefillProgress", true)), () -> now[0]);
    }

    private void answerOnEndpoint1(PrefillBacklogScorer scorer, long[] now, int count, boolean stream) {
        for (int i = 0; i < count; i++) {
            int tokens = 1000 * (1 + i % 4);
            String prompt = "t".repeat(tokens * 4);
            InferenceRequest r = stream ? streamed(prompt) : request(prompt);
            CycleState st = new CycleState();
            scorer.preRequest(st, r, new SchedulingResult("default", List.of(endpoints.get(1))));
            now[0] += millis(10 + 0.05 * tokens);
            scorer.onResponseBody(st, r, endpoints.get(1), ByteSlice.of(stream ? "data: x\n\n" : "{}"), !stream);
            scorer.onComplete(st, r, endpoints.get(1), null, true);
        }
    }

    private static InferenceRequest streamed(String prompt) {
        InferenceRequest r = request(prompt);
        return new InferenceRequest(r.requestId(), r.api(), r.model(), r.targetModel(), r.prompt(), r.cacheSalt(),
                true, r.priority(), r.fairnessId(), r.headers(), r.bodySizeBytes());
    }

    private static long millis(double ms) {
        return Math.round(ms * 1_000_000);
    }

    @Test
    void anEndpointBusyDecodingLosesAShortPromptToAnIdleOneWhenDecodesAreCounted() {
        PrefillBacklogScorer decodeAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "decodeRequestTokens", 100)));
        // endpoint 0 streams the answers of 5 requests (in flight, none waiting for its first token)
        List<Endpoint> pool = List.of(withLoad(endpoint(0, 0, 0, 0.1), 5, 0), endpoint(1, 0, 0, 0.1));
        double[] scores = new double[2];
        decodeAware.score(new CycleState(), request("q".repeat(400)), pool, scores);
        // costs: 100 + 100 + 5 × 100 = 700 vs 100 + 100 = 200
        assertArrayEquals(new double[] {200.0 / 700, 1.0}, scores, 1e-9);

        // the default ignores decode load: both endpoints cost the same
        scorer.score(new CycleState(), request("q".repeat(400)), pool, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    @Test
    void aPendingRequestHoldsARunningSlotTooSoBackToBackPicksDoNotPileOntoTheLeastBusyEndpoint() {
        PrefillBacklogScorer decodeAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "decodeRequestTokens", 500)));
        // endpoint 0 streams 3 answers, endpoint 1 streams 4: the first short request goes to endpoint 0
        List<Endpoint> pool = List.of(withLoad(endpoint(0, 0, 0, 0.1), 3, 0), withLoad(endpoint(1, 0, 0, 0.1), 4, 0));
        double[] scores = new double[2];
        decodeAware.score(new CycleState(), request("q".repeat(400)), pool, scores);
        assertTrue(scores[0] > scores[1], java.util.Arrays.toString(scores));
        decodeAware.preRequest(new CycleState(), request("q".repeat(400)),
                new SchedulingResult("default", List.of(pool.get(0))));

        // the next one, arriving before the first's first token, sees endpoint 0 as busy as endpoint 1 is with 4
        // decodes plus its own pending request: 100 + 100 + 100 × 2 + 500 × (3 + 1) = 2400 vs 100 + 100 + 500 × 4
        List<Endpoint> after = List.of(withLoad(endpoint(0, 0, 0, 0.1), 4, 0), pool.get(1));
        decodeAware.score(new CycleState(), request("q".repeat(400)), after, scores);
        assertArrayEquals(new double[] {2200.0 / 2400, 1.0}, scores, 1e-9);
    }

    @Test
    void withStepSpeedAnEndpointWhoseQuickestStepsAreSlowerCostsThatMuchMore() {
        long[] now = {0};
        PrefillBacklogScorer speedAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "stepSpeed", true)), () -> now[0]);
        // endpoint 0 streams a token every 10 ms, endpoint 1 every 20 ms; one long step of endpoint 0 (a prefill
        // batched with the decode) does not make it look slow
        stream(speedAware, 0, new double[] {10, 10, 60, 10, 10}, now);
        stream(speedAware, 1, new double[] {20, 20, 20, 20, 20}, now);
        double[] scores = new double[2];
        speedAware.score(new CycleState(), request("q".repeat(400)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 0.5}, scores, 1e-9);

        // steps within the tolerance (25%) of the quickest endpoint's count as equally fast
        PrefillBacklogScorer near = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "stepSpeed", true)), () -> now[0]);
        stream(near, 0, new double[] {10, 10, 10}, now);
        stream(near, 1, new double[] {12, 12, 12}, now);
        near.score(new CycleState(), request("q".repeat(400)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);

        // without stepSpeed the same streams leave the endpoints alike
        PrefillBacklogScorer plain = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100)), () -> now[0]);
        stream(plain, 0, new double[] {10, 10, 10}, now);
        stream(plain, 1, new double[] {20, 20, 20}, now);
        plain.score(new CycleState(), request("q".repeat(400)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
        assertThrows(IllegalArgumentException.class, () -> new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("stepSpeedTolerance", -0.1))));
    }

    /** One streamed answer on {@code endpoint} with these intervals (ms) between its chunks; advances {@code now}. */
    private void stream(PrefillBacklogScorer s, int endpoint, double[] gapsMs, long[] now) {
        InferenceRequest r = streamed("s".repeat(400));
        CycleState state = new CycleState();
        s.onResponseBody(state, r, endpoints.get(endpoint), ByteSlice.of("data: x\n\n"), false);
        for (double gap : gapsMs) {
            now[0] += millis(gap);
            s.onResponseBody(state, r, endpoints.get(endpoint), ByteSlice.of("data: x\n\n"), false);
        }
    }

    @Test
    void withStepPhaseAShortPromptGoesWhereTheRunningStepEndsSoonest() {
        long[] now = {0};
        PrefillBacklogScorer phased = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "decodeRequestTokens", 100,
                        "stepPhase", true)), () -> now[0]);
        // each endpoint streams one answer, a token every 10 ms; endpoint 1's steps end 9 ms after endpoint 0's
        InferenceRequest a = streamed("a".repeat(400));
        InferenceRequest b = streamed("b".repeat(400));
        CycleState onA = new CycleState();
        CycleState onB = new CycleState();
        for (int step = 0; step < 5; step++) {
            now[0] = millis(10 * step);
            phased.onResponseBody(onA, a, endpoints.get(0), ByteSlice.of("data: x\n\n"), false);
            now[0] = millis(10 * step + 9);
            phased.onResponseBody(onB, b, endpoints.get(1), ByteSlice.of("data: x\n\n"), false);
        }
        List<Endpoint> pool = List.of(withLoad(endpoints.get(0), 1, 0), withLoad(endpoints.get(1), 1, 0));
        double[] scores = new double[2];

        // at 49.5 ms endpoint 0's step (last token at 40 ms) ends in 0.5 ms, endpoint 1's (49 ms) in 9.5 ms
        now[0] = millis(49.5);
        phased.score(new CycleState(), request("q".repeat(400)), pool, scores);
        // costs: 100 × (1 + 0.05) + 100 + 100 = 305 vs 100 × (1 + 0.95) + 100 + 100 = 395
        assertArrayEquals(new double[] {1.0, 305.0 / 395}, scores, 1e-9);
        // at 58.5 ms endpoint 1's step ends in 0.5 ms; endpoint 0's is overdue (a longer step: it counts in full)
        now[0] = millis(58.5);
        phased.score(new CycleState(), request("q".repeat(400)), pool, scores);
        assertArrayEquals(new double[] {305.0 / 400, 1.0}, scores, 1e-9);

        // with nothing in flight an endpoint takes the request at once, whatever its rhythm was
        List<Endpoint> idle = List.of(withLoad(endpoints.get(0), 1, 0), endpoints.get(1));
        phased.score(new CycleState(), request("q".repeat(400)), idle, scores);
        assertEquals(1.0, scores[1], 1e-9);
        assertTrue(scores[0] < 1.0);

        // without stepPhase the rhythm is not charged: equal load, equal scores
        PrefillBacklogScorer plain = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "decodeRequestTokens", 100)), () -> now[0]);
        plain.score(new CycleState(), request("q".repeat(400)), pool, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    @Test
    void withEndpointSpeedAPodThatAnswersTwiceAsSlowlyCountsItsWorkTwice() {
        long[] now = {0};
        PrefillBacklogScorer speedAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "endpointSpeed", true)), () -> now[0]);
        answerTwiceAsSlowlyOnEndpoint1(speedAware, now);
        double[] scores = new double[2];
        // idle pool: 1,100 tokens of work on either, but endpoint 1's take twice as long
        speedAware.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 0.5}, scores, 1e-9);

        // endpoint 0 busy with a 1,000-token prompt: 1,000 + 1,000 + 200 there at speed 1 against 1,100 at speed 2
        pick(speedAware, new CycleState(), streamed("b".repeat(4000)), 0);
        speedAware.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
        // a second one tips it: 3,300 against 2,200
        pick(speedAware, new CycleState(), streamed("c".repeat(4000)), 0);
        speedAware.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {2200.0 / 3300, 1.0}, scores, 1e-9);

        // without endpointSpeed the same answers leave an idle pool's endpoints alike
        PrefillBacklogScorer plain = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100)), () -> now[0]);
        answerTwiceAsSlowlyOnEndpoint1(plain, now);
        plain.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    /**
     * Both endpoints answer 1,000-token prompts with nothing else queued, six each: endpoint 0 after 11 ms,
     * endpoint 1 after 22 ms (1,100 tokens of work each: the prompt and the request's overhead).
     */
    private void answerTwiceAsSlowlyOnEndpoint1(PrefillBacklogScorer scorer, long[] now) {
        for (int i = 0; i < 6; i++) {
            for (int target = 0; target < 2; target++) {
                InferenceRequest r = streamed("p".repeat(4000));
                CycleState st = new CycleState();
                scorer.score(st, r, endpoints, new double[2]);
                pick(scorer, st, r, target);
                now[0] += millis(11 * (target + 1));
                scorer.onResponseBody(st, r, endpoints.get(target), ByteSlice.of("data: x\n\n"), false);
                scorer.onComplete(st, r, endpoints.get(target), null, true);
            }
        }
    }

    @Test
    void withEndpointSpeedAnEndpointCountsAtThePoolsRateUntilItHasAnsweredAFew() {
        long[] now = {0};
        PrefillBacklogScorer speedAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "endpointSpeed", true)), () -> now[0]);
        // endpoint 1 answers three requests, very slowly: too few to judge it by
        for (int i = 0; i < 3; i++) {
            InferenceRequest r = streamed("p".repeat(4000));
            CycleState st = new CycleState();
            speedAware.score(st, r, endpoints, new double[2]);
            pick(speedAware, st, r, 1);
            now[0] += millis(500);
            speedAware.onResponseBody(st, r, endpoints.get(1), ByteSlice.of("data: x\n\n"), false);
        }
        double[] scores = new double[2];
        speedAware.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    @Test
    void withEndpointSpeedARequestQueuedBehindOthersDoesNotTimeItsEndpoint() {
        long[] now = {0};
        PrefillBacklogScorer speedAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "endpointSpeed", true)), () -> now[0]);
        // endpoint 0's scrape shows two requests (another replica's) waiting: each of the eight sent there waits
        // behind them, and its 1 s says how long that queue took, not how fast the endpoint is
        List<Endpoint> queued = List.of(endpoint(0, 2, 0, 0.1), endpoints.get(1));
        for (int i = 0; i < 8; i++) {
            InferenceRequest r = streamed("p".repeat(4000));
            CycleState st = new CycleState();
            speedAware.score(st, r, queued, new double[2]);
            speedAware.preRequest(st, r, new SchedulingResult("default", List.of(queued.get(0))));
            now[0] += millis(1000);
            speedAware.onResponseBody(st, r, queued.get(0), ByteSlice.of("data: x\n\n"), false);
            speedAware.onComplete(st, r, queued.get(0), null, true);
        }
        // endpoint 1 answers six with nothing ahead, 11 ms each
        for (int i = 0; i < 6; i++) {
            InferenceRequest r = streamed("p".repeat(4000));
            CycleState st = new CycleState();
            speedAware.score(st, r, endpoints, new double[2]);
            pick(speedAware, st, r, 1);
            now[0] += millis(11);
            speedAware.onResponseBody(st, r, endpoints.get(1), ByteSlice.of("data: x\n\n"), false);
        }
        // its queue gone, endpoint 0 is not judged slow: it counts at the pool's rate, as endpoint 1 does
        double[] scores = new double[2];
        speedAware.score(new CycleState(), request("q".repeat(4000)), endpoints, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    /** Schedules {@code request} onto endpoint {@code target} with {@code scorer}, as the EPP does after the pick. */
    private void pick(PrefillBacklogScorer scorer, CycleState state, InferenceRequest request, int target) {
        scorer.preRequest(state, request, new SchedulingResult("default", List.of(endpoints.get(target))));
    }

    @Test
    void withMissCostGrowingWithLoadAHotPrefixSpreadsWhileAPodIdlesAndStaysOnceAllAreBusy() {
        PrefillBacklogScorer growing = new PrefillBacklogScorer(null, new PluginParameters(Map.of(
                "requestOverheadTokens", 100, "missCostGrowsWithLoad", true)));
        List<Endpoint> three = List.of(endpoint(0, 0, 0, 0.1), endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        // endpoint 0 holds the prompt and prefills 2,500 tokens for others; endpoints 1 and 2 idle, cold
        growing.preRequest(new CycleState(), request("z".repeat(10_000)),
                new SchedulingResult("default", List.of(three.get(0))));
        double[] scores = new double[3];
        growing.score(PrefixLoadCostScorerTest.matchState(three, 100, 100, 0, 0), request(PROMPT_4000_TOKENS), three,
                scores);
        // two of three idle: a miss weighs (3 + 1) / (2 + 1) = 1.33; costs 2500 + 200 = 2700 vs 1.33 × 4000 + 100
        assertArrayEquals(new double[] {1.0, 2700 / (4000 * 4.0 / 3 + 100), 2700 / (4000 * 4.0 / 3 + 100)}, scores,
                1e-9);

        // endpoint 0 is now 5,500 tokens behind: the prefix spreads to an idle pod
        growing.preRequest(new CycleState(), request("w".repeat(12_000)),
                new SchedulingResult("default", List.of(three.get(0))));
        growing.score(PrefixLoadCostScorerTest.matchState(three, 100, 100, 0, 0), request(PROMPT_4000_TOKENS), three,
                scores);
        assertTrue(scores[1] > scores[0], "a pod idles and the hit waits longer than the miss: "
                + java.util.Arrays.toString(scores));

        // every pod busy: a miss weighs (3 + 1) / (0 + 1) = 4, and the prompt stays on its cached pod
        for (int pod = 1; pod < 3; pod++) {
            growing.preRequest(new CycleState(), request("v".repeat(4_000)),
                    new SchedulingResult("default", List.of(three.get(pod))));
        }
        growing.score(PrefixLoadCostScorerTest.matchState(three, 100, 100, 0, 0), request(PROMPT_4000_TOKENS), three,
                scores);
        // costs: 5500 + 300 = 5800 vs 1000 + 4 × 4000 + 200 = 17200
        assertArrayEquals(new double[] {1.0, 5800.0 / 17200, 5800.0 / 17200}, scores, 1e-9);
    }

    @Test
    void requestsAnotherReplicaQueuedCountFromTheScrapedQueue() {
        // one pick of this EPP, already answered, sets the size of an unknown queued request: 4,000 tokens
        InferenceRequest answered = request(PROMPT_4000_TOKENS);
        scorer.onComplete(pick(new CycleState(), answered, 1), answered, endpoints.get(1), null, true);

        // endpoint 0's scrape shows 2 waiting requests this EPP never sent
        List<Endpoint> pool = List.of(endpoint(0, 2, 0, 0.1), endpoint(1, 0, 0, 0.1));
        double[] scores = new double[2];
        scorer.score(new CycleState(), request(PROMPT_4000_TOKENS), pool, scores);
        // costs: 2 × 4000 + 4000 + 100 × 3 = 12300 vs 4000 + 100 = 4100
        assertArrayEquals(new double[] {4100.0 / 12300, 1.0}, scores, 1e-9);

        PrefillBacklogScorer ownPicksOnly = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "scrapedLoadFloor", false)));
        ownPicksOnly.score(new CycleState(), request(PROMPT_4000_TOKENS), pool, scores);
        assertArrayEquals(new double[] {1.0, 1.0}, scores, 1e-9);
    }

    @Test
    void ownPendingRequestsAreNotCountedTwiceWhenTheScrapeAlsoShowsThem() {
        PrefillBacklogScorer decodeAware = new PrefillBacklogScorer(null,
                new PluginParameters(Map.of("requestOverheadTokens", 100, "decodeRequestTokens", 100)));
        decodeAware.preRequest(new CycleState(), request(PROMPT_4000_TOKENS),
                new SchedulingResult("default", List.of(endpoints.get(0))));
        // the scrape sees that request waiting; 3 others run there, sent by another replica
        List<Endpoint> pool = List.of(withLoad(endpoint(0, 1, 3, 0.1), 1, 0), endpoint(1, 0, 0, 0.1));
        double[] scores = new double[2];
        decodeAware.score(new CycleState(), request(PROMPT_4000_TOKENS), pool, scores);
        // costs: 4000 + 4000 + 100 × 2 + 100 × (3 decoding + 1 pending) = 8600 vs 4000 + 100 = 4100
        assertArrayEquals(new double[] {4100.0 / 8600, 1.0}, scores, 1e-9);
    }

    @Test
    void rejectsNegativeOverheadsAndAnUncachedWeightBelowOne() {
        assertThrows(IllegalArgumentException.class,
                () -> new PrefillBacklogScorer(null, new PluginParameters(Map.of("requestOverheadTokens", -1))));
        assertThrows(IllegalArgumentException.class,
                () -> new PrefillBacklogScorer(null, new PluginParameters(Map.of("uncachedTokenWeight", 0.5))));
        assertThrows(IllegalArgumentException.class,
                () -> new PrefillBacklogScorer(null, new PluginParameters(Map.of("decodeRequestTokens", -1))));
    }
}
