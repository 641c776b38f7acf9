package io.epp4j.bench.scoreboard;

import io.epp4j.bench.replay.Workloads;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.GreedyReference;
import io.epp4j.bench.sim.References;
import io.epp4j.bench.sim.SimConfig;

import java.util.List;

/**
 * A fleet's capacity for a workload, found with the greedy reference: the highest request rate at which even a
 * router that knows everything keeps up. At a given rate the greedy reference serves the workload (its arrival
 * times stretched or compressed to that rate); it keeps up when, by the moment of the last arrival, it has given a
 * first token to at least {@link #KEPT_UP} of the requests. Past capacity the backlog grows with the run and that
 * share falls towards capacity / rate. A decode backlog shows the same way once the KV cache is full (the engine
 * then stops admitting), so a run is made long enough for that ({@link #requestsFor}); the second half's share of
 * the output tokens asked for is reported beside it ({@code decodeShare}).
 */
final class Capacity {

    /** The share of arrived requests started by the last arrival that counts as keeping up. */
    static final double KEPT_UP = 0.9;

    /** One point of the greedy reference's load curve; {@code meanE2eMs} of its served requests. */
    record Point(double rate, double ttftP50, double ttftP90, double startedShare, double decodeShare,
                 double meanE2eMs, double spanMs) {

        boolean keptUp() {
            return startedShare >= KEPT_UP;
        }
    }

    /** A run covers at least this many mean request lifetimes, so that a backlog has time to show. */
    static final double SPANS_PER_LIFETIME = 3;
    /** The most requests a run is lengthened to. */
    static final int MAX_REQUESTS = 3000;

    private Capacity() {
    }

    /** The greedy reference at {@code rate} requests per second. */
    static Point at(Workloads.Workload w, double rate, List<SimConfig> pods, double[] slow) {
        double stretch = Family.nativeRate(w) / rate;
        List<FleetSimulation.Arrival> arrivals = Family.stretched(w, stretch);
        FleetSimulation.Run run = GreedyReference.run(arrivals, pods, slow);
        double[] ttft = References.sortedTtfts(run);
        long lastArrival = arrivals.get(arrivals.size() - 1).arrivalMs() * 1_000_000L;
        long started = run.outcomes().stream().filter(o -> o.served() && o.firstTokenNanos() <= lastArrival)
                .count();
        double e2e = run.outcomes().stream().filter(FleetSimulation.Outcome::served)
                .mapToDouble(o -> (o.finishedNanos() - o.arrivalNanos()) / 1e6).average().orElse(0);
        return new Point(rate, References.percentile(ttft, 50), References.percentile(ttft, 90),
                (double) started / arrivals.size(), decodeShare(arrivals, run, lastArrival), e2e,
                lastArrival / 1e6);
    }

    /**
     * Output tokens generated in the second half of the arrival window (each request's tokens spread evenly between
     * its first and last) over those asked for per unit of time, times the window.
     */
    static double decodeShare(List<FleetSimulation.Arrival> arrivals, FleetSimulation.Run run, long lastArrival) {
        long from = lastArrival / 2;
        double asked = arrivals.stream().mapToLong(FleetSimulation.Arrival::outputTokens).sum()
                * ((double) (lastArrival - from) / Math.max(1, lastArrival));
        double made = 0;
        for (FleetSimulation.Outcome o : run.outcomes()) {
            if (!o.served() || o.outputTokens() < 2) {
                continue;
            }
            long a = Math.max(from, o.firstTokenNanos());
            long b = Math.min(lastArrival, o.finishedNanos());
            if (b > a) {
                made += (o.outputTokens() - 1) * (double) (b - a) / Math.max(1, o.finishedNanos()
                        - o.firstTokenNanos());
            }
        }
        return asked <= 0 ? 1 : made / asked;
    }

    /**
     * How many requests a run of {@code w}'s kind needs at {@code rate} so that its arrivals span
     * {@link #SPANS_PER_LIFETIME} mean request lifetimes under the greedy reference (long answers need long runs
     * before a backlog of decodes can show), at least {@code w}'s own count, at most {@link #MAX_REQUESTS}.
     */
    static int requestsFor(Workloads.Workload w, double rate, List<SimConfig> pods, double[] slow) {
        Point p = at(w, rate, pods, slow);
        int n = w.requests().size();
        if (p.spanMs() >= SPANS_PER_LIFETIME * p.meanE2eMs()) {
            return n;
        }
        double needed = n * SPANS_PER_LIFETIME * p.meanE2eMs() / Math.max(1, p.spanMs());
        return (int) Math.min(MAX_REQUESTS, Math.ceil(needed));
    }

    /**
     * The capacity in requests per second: bisection between a rate that keeps up and one that does not, to
     * within {@code tolerance} (relative).
     */
    static double find(Workloads.Workload w, List<SimConfig> pods, double[] slow, double tolerance) {
        double low = Family.nativeRate(w);
        double high = low;
        if (at(w, low, pods, slow).keptUp()) {
            do {
                low = high;
                high *= 2;
            } while (at(w, high, pods, slow).keptUp() && high < 1e6);
        } else {
            do {
                high = low;
                low /= 2;
            } while (!at(w, low, pods, slow).keptUp() && low > 1e-6);
        }
        while (high / low > 1 + tolerance) {
            double mid = Math.sqrt(low * high);
            if (at(w, mid, pods, slow).keptUp()) {
                low = mid;
            } else {
                high = mid;
            }
        }
        return low;
    }
}
