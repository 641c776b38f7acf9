package io.epp4j.bench.load;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The soak's short version, run by {@code mvn verify}: 30 s of mixed traffic at a forked EPP. Its bounds are
 * loose for a shared CI machine yet catch a leak: one in-flight slot kept per request leaves thousands in flight (3,000 exchanges),
 * a request's body kept per request grows the heap by tens of megabytes, a thread or a socket per request by
 * thousands. The checks themselves are tested on made-up samples.
 */
class SoakTest {

    static final Soak.Settings CI = new Soak.Settings(100, 30, 5, 3, 10, 8, 2, "256m", 42, 32, 8, 32, 3, 20);

    @Test
    void thirtySecondsOfMixedTrafficLeaveHeapThreadsFdsAndInFlightFlat() throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Soak.Result r = Soak.soak(CI, new PrintStream(progress));
        String report = Soak.report(CI, r);
        assertTrue(r.passed(), report + progress);
        assertTrue(r.completed() > 100 * 30 * 0.8, "most exchanges completed: " + report);
        assertTrue(r.cancelled() > 0 && r.upstreamErrors() > 0, "the mix has cancels and upstream errors: " + report);
        assertEquals(0, r.inFlightAfter());
    }

    @Test
    void checksFailOnGrowthLeftoversAndDrift() {
        List<Soak.Sample> flat = List.of(sample(0, 40, 30, 100, 5), sample(10, 41, 30, 101, 3),
                sample(20, 40, 31, 100, 4), sample(30, 40.5, 30, 100, 0));
        assertEquals(List.of(), Soak.checks(CI, flat, 1, 2, 0, 0, 0));

        List<Soak.Sample> leaking = List.of(sample(0, 40, 30, 100, 5), sample(10, 80, 45, 200, 900),
                sample(20, 120, 60, 300, 1800), sample(30, 160, 75, 400, 2700));
        List<String> failures = Soak.checks(CI, leaking, 1, 100, 2700, 3, 0);
        assertEquals(6, failures.size(), failures.toString());
        assertTrue(failures.get(0).startsWith("heap after GC grew 120.0 MB"), failures.get(0));

        List<String> behind = Soak.checks(CI, flat, 1, 2, 0, 0, 12);
        assertEquals(1, behind.size(), behind.toString());
        assertTrue(behind.get(0).startsWith("the load generator fell behind: 12 exchanges not sent"), behind.get(0));
    }

    private static Soak.Sample sample(double t, double heap, int threads, long fds, long inFlight) {
        return new Soak.Sample(t, heap, threads, fds, inFlight);
    }
}
