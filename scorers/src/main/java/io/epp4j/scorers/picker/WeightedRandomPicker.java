package io.epp4j.scorers.picker;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * {@code weighted-random-picker}: weighted sampling without replacement (A-Res: key {@code U^(1/score)}, score ≤ 0
 * ⇒ key 0, the {@code maxNumOfEndpoints} largest keys); all scores ≤ 0 ⇒ uniform random.
 */
public final class WeightedRandomPicker extends PickerSupport {

    public static final String TYPE = "weighted-random-picker";

    public WeightedRandomPicker(String name, PluginParameters parameters, Random random) {
        super(TYPE, name, parameters, random);
    }

    @Override
    public List<Endpoint> pick(CycleState state, InferenceRequest request, List<Endpoint> endpoints,
                               double[] totalScores) {
        int n = endpoints.size();
        boolean anyPositive = false;
        for (int i = 0; i < n; i++) {
            anyPositive |= totalScores[i] > 0;
        }
        if (!anyPositive) {
            return RandomPicker.pickRandom(endpoints, maxEndpoints, random);
        }
        double[] keys = new double[n];
        synchronized (random) {
            for (int i = 0; i < n; i++) {
                keys[i] = totalScores[i] > 0 ? Math.pow(random.nextDouble(), 1.0 / totalScores[i]) : 0.0;
            }
        }
        List<Endpoint> out = new ArrayList<>();
        boolean[] taken = new boolean[n];
        for (int k = 0; k < Math.min(n, maxEndpoints); k++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (!taken[i] && (best < 0 || keys[i] > keys[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            out.add(endpoints.get(best));
        }
        return out;
    }
}
