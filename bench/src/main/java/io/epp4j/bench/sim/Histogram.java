package io.epp4j.bench.sim;

import java.util.Locale;

/** A cumulative Prometheus histogram with fixed upper bounds; thread-safe. */
final class Histogram {

    static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1,
        2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560};
    static final double[] ITL_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
        5, 7.5, 10, 20, 40, 80};
    static final double[] REQUEST_BUCKETS = {0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120,
        240, 480, 960, 1920, 7680};

    private final double[] bounds;
    private final long[] counts;
    private double sum;
    private long count;

    Histogram(double[] bounds) {
        this.bounds = bounds;
        this.counts = new long[bounds.length];
    }

    /** 1-2-5 buckets up to {@code max}, as vLLM builds its token-count histograms. */
    static double[] oneTwoFive(int max) {
        java.util.List<Double> out = new java.util.ArrayList<>();
        for (long mantissa = 1; ; mantissa *= 10) {
            for (int m : new int[] {1, 2, 5}) {
                long v = m * mantissa;
                if (v > max) {
                    return out.stream().mapToDouble(Double::doubleValue).toArray();
                }
                out.add((double) v);
            }
        }
    }

    synchronized void observe(double value) {
        for (int i = 0; i < bounds.length; i++) {
            if (value <= bounds[i]) {
                counts[i]++;
            }
        }
        sum += value;
        count++;
    }

    synchronized void write(StringBuilder out, String name, String labels) {
        for (int i = 0; i < bounds.length; i++) {
            out.append(name).append("_bucket{").append(labels).append(",le=\"").append(format(bounds[i]))
                    .append("\"} ").append(counts[i]).append(".0\n");
        }
        out.append(name).append("_bucket{").append(labels).append(",le=\"+Inf\"} ").append(count).append(".0\n");
        out.append(name).append("_count{").append(labels).append("} ").append(count).append(".0\n");
        out.append(name).append("_sum{").append(labels).append("} ").append(format(sum)).append('\n');
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return (long) v + ".0";
        }
        return java.math.BigDecimal.valueOf(v).toPlainString();
    }
}
