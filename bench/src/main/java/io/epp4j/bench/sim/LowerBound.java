package io.epp4j.bench.sim;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A true lower bound on every request's time to first token on a fleet: its own prompt prefilled on an idle pod
 * of the fleet's fastest kind, starting at the longest prefix any earlier request could have left in a cache
 * (every earlier prompt's blocks, nothing ever evicted). No router can beat it on that fleet: a busy pod shares
 * its steps, a request cannot hit blocks no earlier request computed, and routing and jitter only add time.
 *
 * <p>Step model: the prompt's uncached tokens in chunks of {@code max_num_batched_tokens}, one step each, at least
 * one token computed ({@link StepProfile#idlePrefillMs}). Lanes model: {@code prefill-overhead + uncached tokens ×
 * prefill cost}, times the smallest jitter factor ({@code 1 - 3 × jitter}).
 */
public final class LowerBound {

    private LowerBound() {
    }

    /**
     * Each request's bound in simulated ms, in arrival order.
     *
     * @param config the pods' configuration (the engine model and its costs)
     * @param fastestSlowFactor the smallest slow factor of any pod (1 = none slowed, below 1 = a faster pod)
     */
    public static double[] ttftMs(List<FleetSimulation.Arrival> arrivals, SimConfig config,
                                  double fastestSlowFactor) {
        Set<Long> seen = new HashSet<>();
        double[] out = new double[arrivals.size()];
        int block = config.blockSize();
        for (int i = 0; i < out.length; i++) {
            FleetSimulation.Arrival a = arrivals.get(i);
            long[] hashes = PrefixCache.blockHashes(a.model(), a.prompt(), block);
            int prompt = EngineCore.promptTokens(a.prompt());
            int hits = 0;
            while (hits < hashes.length && seen.contains(hashes[hits])) {
                hits++;
            }
            double ms;
            if (config.engineModel() == EngineModel.STEP) {
                int cached = Math.min(hits, (prompt - 1) / block) * block;
                ms = config.step().idlePrefillMs(cached, prompt - cached);
            } else {
                int cached = Math.min(prompt, hits * block);
                double jitterFloor = config.jitter() > 0 ? Math.max(0.05, 1 - 3 * config.jitter()) : 1.0;
                ms = (config.prefillOverheadMs() + (prompt - cached) * config.prefillPerTokenMs()) * jitterFloor;
            }
            out[i] = ms * fastestSlowFactor;
            for (long h : hashes) {
                seen.add(h);
            }
        }
        return out;
    }
}
