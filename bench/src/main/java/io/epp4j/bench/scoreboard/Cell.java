package io.epp4j.bench.scoreboard;

import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.References;

import java.util.Arrays;

/**
 * One policy's run of one workload at one load on one fleet, for one seed: the figures the scoreboard compares.
 *
 * @param ttftP50 TTFT percentiles of the served requests, simulated ms
 * @param throughput output tokens per simulated second, from the first arrival to the last token
 * @param spread requests of the busiest pod over those of the idlest ({@code Infinity} when a pod got none)
 * @param hitRate cached prompt tokens over prompt tokens
 * @param failed requests not served (refused by the router or a pod)
 * @param preempted requests preempted at least once
 */
record Cell(String policy, double ttftP50, double ttftP90, double ttftP99, double throughput, double spread,
            double hitRate, int failed, int preempted) {

    static Cell of(String policy, FleetSimulation.Run run) {
        double[] ttft = References.sortedTtfts(run);
        long first = Long.MAX_VALUE;
        long last = 0;
        long tokens = 0;
        long prompt = 0;
        long cached = 0;
        int failed = 0;
        int preempted = 0;
        int[] perPod = new int[run.pods()];
        for (FleetSimulation.Outcome o : run.outcomes()) {
            first = Math.min(first, o.arrivalNanos());
            if (!o.served()) {
                failed++;
                continue;
            }
            last = Math.max(last, o.finishedNanos());
            tokens += o.outputTokens();
            prompt += o.promptTokens();
            cached += o.cachedTokens();
            perPod[o.pod()]++;
            preempted += o.preemptions() > 0 ? 1 : 0;
        }
        int max = Arrays.stream(perPod).max().orElse(0);
        int min = Arrays.stream(perPod).min().orElse(0);
        return new Cell(policy, References.percentile(ttft, 50), References.percentile(ttft, 90),
                References.percentile(ttft, 99), last > first ? tokens / ((last - first) / 1e9) : 0,
                min == 0 ? Double.POSITIVE_INFINITY : (double) max / min, prompt == 0 ? 0 : (double) cached / prompt,
                failed, preempted);
    }
}
