package io.epp4j.bench.sim;

import java.util.Arrays;
import java.util.List;

/**
 * The two yardsticks of a workload on a fleet, computed in simulated time: the {@link GreedyReference greedy
 * reference} (a router that knows everything, one request at a time) and the {@link LowerBound lower bound}
 * (each request alone on an idle pod with the best prefix it could find).
 *
 * @param greedy the greedy reference's run
 * @param greedyTtftMs its served requests' TTFT, sorted
 * @param boundTtftMs the bound of every request, sorted
 */
public record References(FleetSimulation.Run greedy, double[] greedyTtftMs, double[] boundTtftMs) {

    /** Both references for {@code arrivals} on {@code pods} (slow factors per pod, or null). */
    public static References of(List<FleetSimulation.Arrival> arrivals, List<SimConfig> pods, double[] slow) {
        FleetSimulation.Run run = GreedyReference.run(arrivals, pods, slow);
        double fastest = slow == null ? 1.0 : Arrays.stream(slow).min().orElse(1.0);
        double[] bound = LowerBound.ttftMs(arrivals, pods.get(0), fastest);
        Arrays.sort(bound);
        return new References(run, sortedTtfts(run), bound);
    }

    /** The served requests' TTFT in ms, sorted. */
    public static double[] sortedTtfts(FleetSimulation.Run run) {
        return run.outcomes().stream().filter(FleetSimulation.Outcome::served)
                .mapToDouble(FleetSimulation.Outcome::ttftMs).sorted().toArray();
    }

    /** Nearest-rank percentile of sorted values; NaN when empty. */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    public double greedyP(double p) {
        return percentile(greedyTtftMs, p);
    }

    public double boundP(double p) {
        return percentile(boundTtftMs, p);
    }

    /** Cached prompt tokens over prompt tokens of the greedy reference's served requests. */
    public double greedyHitRate() {
        long prompt = 0;
        long cached = 0;
        for (FleetSimulation.Outcome o : greedy.outcomes()) {
            if (o.served()) {
                prompt += o.promptTokens();
                cached += o.cachedTokens();
            }
        }
        return prompt == 0 ? 0 : (double) cached / prompt;
    }

    /** Requests the greedy reference could not serve (longer than a pod's cache or its context). */
    public long greedyRejected() {
        return greedy.outcomes().stream().filter(o -> !o.served()).count();
    }
}
