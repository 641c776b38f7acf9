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
 * share falls towards capacity / rate. A burst shorter than a request's lifetime is absorbed by the engines' running
 * slots whatever the rate, and a decode backlog shows only once it has filled the KV cache (the engine then stops
 * admitting), so a run counts only when it spans {@link #SPANS_PER_LIFETIME} mean request lifetimes: it is
 * lengthened up to {@link #MAX_REQUESTS}, and a rate that needs a longer run does not count as kept up (for long
 * answers the capacity found is then the highest rate such a run can show).
 */
final class Capacity {

    /** The share of arrived requests started by the last arrival that counts as keeping up. */
    static final double KEPT_UP = 0.9;

    /** One point of the greedy reference's load curve; {@code meanE2eMs} of its served requests. */
    record Point(double rate, double ttftP50, double ttftP90, double startedShare, double meanE2eMs,
                 double spanMs) {

        /**
         * The run kept up: it spans {@link #SPANS_PER_LIFETIME} mean request lifetimes (long enough for a decode
         * backlog to fill the KV cache and stop admissions) and by the last arrival it started {@link #KEPT_UP} of
         * the requests.
         */
        boolean keptUp() {
            return steady() && startedShare >= KEPT_UP;
        }

        boolean steady() {
            return spanMs >= SPANS_PER_LIFETIME * meanE2eMs;
        }
    }

    /**
     * A run covers at least this many mean request lifetimes, so that a backlog has time to show and the second half
     * of the arrivals sees decoding in its steady state.
     */
    static final double SPANS_PER_LIFETIME = 2;
    /** The most requests a run is lengthened to by default ({@code --max-requests}). */
    static final int MAX_REQUESTS = 1500;

    private Capacity() {
    }

    /** The greedy reference at {@code rate} requests per second. */
    static Point at(Workloads.Workload w, double rate, List<SimConfig> pods, double[] slow) {
        List<FleetSimulation.Arrival> arrivals = Family.atRate(w, rate);
        FleetSimulation.Run run = GreedyReference.run(arrivals, pods, slow);
        double[] ttft = References.sortedTtfts(run);
        long lastArrival = arrivals.get(arrivals.size() - 1).arrivalMs() * 1_000_000L;
        long started = run.outcomes().stream().filter(o -> o.served() && o.firstTokenNanos() <= lastArrival)
                .count();
        double e2e = run.outcomes().stream().filter(FleetSimulation.Outcome::served)
                .mapToDouble(o -> (o.finishedNanos() - o.arrivalNanos()) / 1e6).average().orElse(0);
        return new Point(rate, References.percentile(ttft, 50), References.percentile(ttft, 90),
                (double) started / arrivals.size(), e2e, lastArrival / 1e6);
    }

    /** Makes a workload of a given number of requests (a family member for one seed). */
    public interface Generator {
        Workloads.Workload requests(int n) throws java.io.IOException;
    }

    /** A capacity and the workload (long enough to be steady there) it was found with. */
    record Found(double rate, Workloads.Workload workload) {
    }

    /**
     * The greedy reference at {@code rate} on a run long enough to be steady: it starts with {@code n} requests and
     * lengthens the run while it spans fewer than {@link #SPANS_PER_LIFETIME} mean request lifetimes, up to
     * {@code maxRequests}. A run still too short there does not count as keeping up.
     */
    static Point probe(Generator gen, int n, int maxRequests, double rate, List<SimConfig> pods, double[] slow,
                       Workloads.Workload[] used) throws java.io.IOException {
        Workloads.Workload w = gen.requests(n);
        while (true) {
            Point p = at(w, rate, pods, slow);
            int size = w.requests().size();
            if (p.steady() || size >= maxRequests) {
                used[0] = w;
                return p;
            }
            int next = (int) Math.min(maxRequests, Math.ceil(size * 1.2 * SPANS_PER_LIFETIME * p.meanE2eMs()
                    / Math.max(1, p.spanMs())));
            w = gen.requests(Math.max(next, size + 1));
        }
    }

    /**
     * The capacity in requests per second: bisection between a rate that keeps up and one that does not, to within
     * {@code tolerance} (relative), each probe on a run of {@code n} requests lengthened up to {@code maxRequests}
     * until steady; and the workload it was found with.
     */
    static Found find(Generator gen, int n, int maxRequests, List<SimConfig> pods, double[] slow, double tolerance)
            throws java.io.IOException {
        int max = Math.max(n, maxRequests);
        Workloads.Workload[] used = new Workloads.Workload[1];
        double low = Family.nativeRate(gen.requests(n));
        double high = low;
        Workloads.Workload atLow;
        if (probe(gen, n, max, low, pods, slow, used).keptUp()) {
            atLow = used[0];
            do {
                low = high;
                atLow = used[0];
                high *= 2;
            } while (probe(gen, n, max, high, pods, slow, used).keptUp() && high < 1e6);
        } else {
            do {
                high = low;
                low /= 2;
            } while (!probe(gen, n, max, low, pods, slow, used).keptUp() && low > 1e-6);
            atLow = used[0];
        }
        while (high / low > 1 + tolerance) {
            double mid = Math.sqrt(low * high);
            if (probe(gen, n, max, mid, pods, slow, used).keptUp()) {
                low = mid;
                atLow = used[0];
            } else {
                high = mid;
            }
        }
        return new Found(low, atLow);
    }
}
