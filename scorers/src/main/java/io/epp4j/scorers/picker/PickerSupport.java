package io.epp4j.scorers.picker;

import io.epp4j.spi.PluginParameters;

final class PickerSupport {

    private PickerSupport() {
    }

    /** {@code maxNumOfEndpoints}, default 1; ≤ 0 means 1 (GAIE). */
    static int maxNumOfEndpoints(PluginParameters parameters) {
        int n = parameters.getInt("maxNumOfEndpoints", 1);
        return n <= 0 ? 1 : n;
    }

    static void shuffle(int[] order, java.util.Random random) {
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}
