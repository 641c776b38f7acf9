package io.epp4j.bench.sim;


/**
 * The greedy reference: a router that knows every pod's engine state exactly (running and waiting requests, their
 * progress, KV blocks and prefix cache, LoRA slots) and sends each request, in arrival order, to the pod where a
 * copy of that engine, run forward with nothing else arriving, gives it its first token soonest. It is a
 * reference, not a bound: it never looks ahead (keeping a pod free for a long prompt still to come, or sparing
 * other requests' decodes, can beat it), and a policy may land below it. {@link LowerBound} is the bound.
 *
 * <p>To keep a run to seconds, only the few most promising pods (by a cheap bound, then by load) get a what-if run
 * ({@link FleetSimulation#soonestFirstToken}), and deep in overload, when none would give a first token within
 * {@link FleetSimulation#WHAT_IF_HORIZON_NANOS}, the most promising pod is chosen.
 */
public final class GreedyReference implements FleetSimulation.Router {

    @Override
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        long[] load = new long[fleet.size()];
        for (int p = 0; p < load.length; p++) {
            EngineCore.Snapshot s = fleet.pod(p).snapshot(nowNanos);
            load[p] = (long) s.running() + s.waiting();
        }
        return FleetSimulation.soonestFirstToken(arrival, nowNanos, fleet, load);
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
