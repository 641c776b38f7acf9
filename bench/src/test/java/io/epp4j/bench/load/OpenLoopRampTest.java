package io.epp4j.bench.load;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The open-loop sender's schedule: the full rate from the start, or ramped up linearly (the soak's warm-up). */
class OpenLoopRampTest {

    private static DecisionStreams.OpenLoop sender(double intervalNanos, double rampNanos) {
        return new DecisionStreams.OpenLoop(null, null, null, 0, Long.MAX_VALUE, intervalNanos, rampNanos, 0, 1);
    }

    @Test
    void withoutARampRequestsAreEvenlySpacedFromTheStart() {
        DecisionStreams.OpenLoop s = sender(500_000, 0);
        for (long n = 0; n < 1000; n++) {
            assertEquals(n * 500_000, s.offsetNanos(n));
        }
    }

    @Test
    void aRampSendsHalfTheRequestsOfItsDurationWithGapsShrinkingToTheFullRate() {
        double interval = 500_000; // 2,000 req/s
        double ramp = 10e9;
        DecisionStreams.OpenLoop s = sender(interval, ramp);
        long atRampEnd = (long) (ramp / interval / 2); // the rate's integral over the ramp: 10,000 requests
        assertEquals(ramp, s.offsetNanos(atRampEnd), 1e6);
        long previousGap = Long.MAX_VALUE;
        for (long n = 1; n < atRampEnd; n += 97) {
            long gap = s.offsetNanos(n + 1) - s.offsetNanos(n);
            assertTrue(gap > 0 && gap <= previousGap, "gaps shrink while the rate ramps up, at " + n);
            assertTrue(gap >= interval - 1, "never faster than the full rate, at " + n);
            previousGap = gap;
        }
        for (long n = atRampEnd; n < atRampEnd + 1000; n++) {
            assertEquals(interval, s.offsetNanos(n + 1) - s.offsetNanos(n), 1.0, "the full rate after the ramp");
        }
    }
}
