package io.epp4j.scorers.load;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PrefillRateTest {

    private static final long MS = 1_000_000;

    private final PrefillRate rate = new PrefillRate();

    @Test
    void nothingCountsAsPrefilledUntilEnoughAnswersWereSeen() {
        for (int i = 0; i < PrefillRate.MIN_SAMPLES - 1; i++) {
            rate.observe(1000 * (1 + i % 4), (10 + 50L * (1 + i % 4)) * MS);
        }
        assertEquals(0, rate.fit().tokensDoneAfter(1000 * MS));
        rate.observe(1000, 60 * MS);
        assertEquals(1000, rate.fit().tokensDoneAfter(60 * MS), 1e-6);
    }

    @Test
    void recoversTheFixedTimeAndTheTimePerToken() {
        for (int i = 0; i < 40; i++) {
            int tokens = 500 * (1 + i % 7);
            rate.observe(tokens, Math.round((30 + 0.05 * tokens) * MS));
        }
        assertEquals(30 * MS, rate.fit().fixedNanos(), 1e3);
        assertEquals(0.05 * MS, rate.fit().nanosPerToken(), 1e-3);
        assertEquals(0, rate.fit().tokensDoneAfter(20 * MS), "still within the fixed part");
        assertEquals(2000, rate.fit().tokensDoneAfter(130 * MS), 1e-3);
    }

    @Test
    void promptsOfOneSizeGiveATimePerTokenOnly() {
        for (int i = 0; i < 20; i++) {
            rate.observe(2000, 100 * MS);
        }
        assertEquals(0, rate.fit().fixedNanos());
        assertEquals(1000, rate.fit().tokensDoneAfter(50 * MS), 1e-6);
    }

    @Test
    void recentAnswersOutweighOldOnes() {
        for (int i = 0; i < 200; i++) {
            int tokens = 1000 * (1 + i % 4);
            double msPerToken = i < 100 ? 0.10 : 0.05; // the pool got twice as fast
            rate.observe(tokens, Math.round(tokens * msPerToken * MS));
        }
        assertEquals(0.05 * MS, rate.fit().nanosPerToken(), 0.01 * MS);
    }
}
