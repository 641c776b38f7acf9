package io.epp4j.scorers.base;

import io.epp4j.spi.Endpoint;

import java.util.List;
import java.util.function.ToIntFunction;

/** Min-max normalisation where lower raw values are better: (max − v)/(max − min); all equal ⇒ 1.0. */
public final class MinMax {

    private MinMax() {
    }

    /** Scores each endpoint by {@code metric} of it, lower is better. */
    public static void lowerIsBetter(List<Endpoint> endpoints, ToIntFunction<Endpoint> metric, double[] scores) {
        int n = endpoints.size();
        long[] raw = new long[n];
        for (int i = 0; i < n; i++) {
            raw[i] = metric.applyAsInt(endpoints.get(i));
        }
        lowerIsBetter(raw, n, scores);
    }

    public static void lowerIsBetter(long[] raw, int n, double[] scores) {
        if (n == 0) {
            return;
        }
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            min = Math.min(min, raw[i]);
            max = Math.max(max, raw[i]);
        }
        if (max == min) {
            java.util.Arrays.fill(scores, 0, n, 1.0);
            return;
        }
        double range = max - min;
        for (int i = 0; i < n; i++) {
            scores[i] = (max - raw[i]) / range;
        }
    }
}
