package io.epp4j.bench.sim;

/**
 * The greedy reference without the exact end of each pod's engine step: it knows everything else the greedy
 * reference knows (running and waiting requests, their progress, KV blocks and prefix cache, LoRA slots) and runs
 * the same what-if copies, but the step in flight ends where {@link EngineCore.StepKnowledge} puts it. With
 * {@code NONE} it knows no phase (what vLLM's {@code /metrics} tell an EPP); with {@code LAST_STEP} the step's
 * start and the previous step's length (what an EPP can learn from the streamed chunks passing through it). On
 * short prompts, where a first token is the rest of the step in flight plus one step, the gap between these and
 * the greedy reference is what not knowing the step's end costs any router, however well it knows the rest.
 *
 * <p>Every pod gets a what-if run (the greedy reference's pruning bound assumes the exact step end).
 */
public final class StepBlindReference implements FleetSimulation.Router {

    private final EngineCore.StepKnowledge knowledge;

    public StepBlindReference(EngineCore.StepKnowledge knowledge) {
        this.knowledge = knowledge;
    }

    @Override
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        int best = -1;
        long bestAt = nowNanos + FleetSimulation.WHAT_IF_HORIZON_NANOS;
        long bestLoad = Long.MAX_VALUE;
        for (int p = 0; p < fleet.size(); p++) {
            EngineCore engine = fleet.pod(p);
            String adapter = arrival.model().equals(engine.config().model()) ? null : arrival.model();
            long at = engine.whatIfFirstToken(adapter, arrival.prompt(), arrival.outputTokens(), nowNanos, bestAt,
                    knowledge);
            EngineCore.Snapshot s = engine.snapshot(nowNanos);
            long load = (long) s.running() + s.waiting();
            if (at < bestAt || at == bestAt && at != Long.MAX_VALUE && load < bestLoad) {
                best = p;
                bestAt = at;
                bestLoad = load;
            }
        }
        if (best >= 0) {
            return best;
        }
        // deep in overload no pod answers within the horizon: the least loaded, as the greedy reference does
        long[] load = new long[fleet.size()];
        for (int p = 0; p < load.length; p++) {
            EngineCore.Snapshot s = fleet.pod(p).snapshot(nowNanos);
            load[p] = (long) s.running() + s.waiting();
        }
        return FleetSimulation.soonestFirstToken(arrival, nowNanos, fleet, load);
    }

    @Override
    public String toString() {
        return "greedy reference, step end " + knowledge;
    }
}
