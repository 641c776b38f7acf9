package io.epp4j.scorers.picker;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.Picker;
import io.epp4j.spi.PluginParameters;

import java.util.Random;

/** What the built-in pickers share: {@code maxNumOfEndpoints} and a random source seeded once. */
abstract class PickerSupport extends NamedPlugin implements Picker {

    /** {@code maxNumOfEndpoints}, default 1; ≤ 0 means 1 (GAIE). */
    final int maxEndpoints;
    /** Shared by the picking threads; lock it while drawing. */
    final Random random;

    PickerSupport(String type, String name, PluginParameters parameters, Random random) {
        super(type, name);
        int n = parameters.getInt("maxNumOfEndpoints", 1);
        this.maxEndpoints = n <= 0 ? 1 : n;
        this.random = random;
    }

    /** {@code 0 … n−1} in uniformly random order (Fisher–Yates). */
    static int[] shuffledOrder(int n, Random random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        synchronized (random) {
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }
}
