package io.epp4j.bench.sim;

import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The greedy reference: a router that knows every pod's engine state exactly (running and waiting requests, their
 * progress, KV blocks and prefix cache, LoRA slots) and sends each request, in arrival order, to the pod where a
 * copy of that engine, run forward with nothing else arriving, gives it its first token soonest. It is a
 * reference, not a bound: it never looks ahead (keeping a pod free for a long prompt still to come, or sparing
 * other requests' decodes, can beat it), and a policy may land below it. {@link LowerBound} is the bound.
 *
 * <p>Pods are tried in order of their load (running + waiting), and a copy stops as soon as it is later than the
 * best pod so far, which keeps a run to a few seconds.
 */
public final class GreedyReference implements FleetSimulation.Router {

    @Override
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        int n = fleet.size();
        long[] load = new long[n];
        for (int p = 0; p < n; p++) {
            EngineCore.Snapshot s = fleet.pod(p).snapshot(nowNanos);
            load[p] = (long) s.running() + s.waiting();
        }
        int[] order = IntStream.range(0, n).boxed().sorted(Comparator.<Integer>comparingLong(p -> load[p])
                .thenComparingInt(p -> p)).mapToInt(Integer::intValue).toArray();
        int best = FleetSimulation.soonestFirstToken(arrival, nowNanos, fleet, order);
        // no pod can take it (longer than any cache): send it to the first, which refuses it as vLLM would
        return best >= 0 ? best : order[0];
    }

    /** Runs the greedy reference over {@code arrivals}. */
    public static FleetSimulation.Run run(java.util.List<FleetSimulation.Arrival> arrivals,
                                          java.util.List<SimConfig> pods, double[] slowFactors) {
        return FleetSimulation.run(arrivals, pods, slowFactors, new GreedyReference());
    }

    @Override
    public String toString() {
        return "greedy reference";
    }
}
