package io.epp4j.scorers.picker;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** {@code random-picker}: {@code maxNumOfEndpoints} (default 1) endpoints uniformly at random, ignoring scores. */
public final class RandomPicker extends PickerSupport {

    public static final String TYPE = "random-picker";

    public RandomPicker(String name, PluginParameters parameters, Random random) {
        super(TYPE, name, parameters, random);
    }

    @Override
    public List<Endpoint> pick(CycleState state, InferenceRequest request, List<Endpoint> endpoints,
                               double[] totalScores) {
        return pickRandom(endpoints, maxEndpoints, random);
    }

    static List<Endpoint> pickRandom(List<Endpoint> endpoints, int max, Random random) {
        int n = endpoints.size();
        if (n == 0) {
            return List.of();
        }
        if (max == 1) {
            int i;
            synchronized (random) {
                i = random.nextInt(n);
            }
            return List.of(endpoints.get(i));
        }
        int[] order = shuffledOrder(n, random);
        List<Endpoint> out = new ArrayList<>();
        for (int i = 0; i < Math.min(n, max); i++) {
            out.add(endpoints.get(order[i]));
        }
        return out;
    }
}
