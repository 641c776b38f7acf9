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
 * times stretched or compressed to that rate); it keeps up when the requests it has given a first token by the
 * moment of the last arrival are at least {@link #KEPT_UP} of those that arrived by then. Past capacity the backlog
 * grows with the run and that share falls towards capacity / rate.
 */
final class Capacity {

    /** The share of arrived requests started by the last arrival that counts as keeping up. */
    static final double KEPT_UP = 0.9;

    /** One point of the greedy reference's load curve. */
    record Point(double rate, double ttftP50, double ttftP90, double startedShare) {
    }

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
        return new Point(rate, References.percentile(ttft, 50), References.percentile(ttft, 90),
                (double) started / arrivals.size());
    }

    /**
     * The capacity in requests per second: bisection between a rate that keeps up and one that does not, to
     * within {@code tolerance} (relative).
     */
    static double find(Workloads.Workload w, List<SimConfig> pods, double[] slow, double tolerance) {
        double low = Family.nativeRate(w);
        double high = low;
        if (at(w, low, pods, slow).startedShare() >= KEPT_UP) {
            do {
                low = high;
                high *= 2;
            } while (at(w, high, pods, slow).startedShare() >= KEPT_UP && high < 1e6);
        } else {
            do {
                high = low;
                low /= 2;
            } while (at(w, low, pods, slow).startedShare() < KEPT_UP && low > 1e-6);
        }
        while (high / low > 1 + tolerance) {
            double mid = Math.sqrt(low * high);
            if (at(w, mid, pods, slow).startedShare() >= KEPT_UP) {
                low = mid;
            } else {
                high = mid;
            }
        }
        return low;
    }
}
