package io.epp4j.scorers.picker;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * {@code max-score-picker}: the {@code maxNumOfEndpoints} (default 1) highest total scores, ties broken uniformly
 * at random with a random source seeded once.
 */
public final class MaxScorePicker extends PickerSupport {

    public static final String TYPE = "max-score-picker";

    public MaxScorePicker(String name, PluginParameters parameters, Random random) {
        super(TYPE, name, parameters, random);
    }

    @Override
    public List<Endpoint> pick(CycleState state, InferenceRequest request, List<Endpoint> endpoints,
                               double[] totalScores) {
        int n = endpoints.size();
        if (n == 0) {
            return List.of();
        }
        if (maxEndpoints == 1) {
            // one pass; the k-th tie replaces the current best with probability 1/k, a uniform choice among ties
            int best = 0;
            int ties = 1;
            synchronized (random) {
                for (int i = 1; i < n; i++) {
                    if (totalScores[i] > totalScores[best]) {
                        best = i;
                        ties = 1;
                    } else if (totalScores[i] == totalScores[best] && random.nextInt(++ties) == 0) {
                        best = i;
                    }
                }
            }
            return List.of(endpoints.get(best));
        }
        int[] order = shuffledOrder(n, random);
        // top N by repeated scans over the shuffled order: the first maximum in shuffled order wins, which is
        // a stable sort of the shuffle (GAIE), without boxing
        int take = Math.min(n, maxEndpoints);
        boolean[] taken = new boolean[n];
        List<Endpoint> out = new ArrayList<>(take);
        for (int k = 0; k < take; k++) {
            int best = -1;
            for (int idx : order) {
                if (!taken[idx] && (best < 0 || totalScores[idx] > totalScores[best])) {
                    best = idx;
                }
            }
            taken[best] = true;
            out.add(endpoints.get(best));
        }
        return out;
    }
}
