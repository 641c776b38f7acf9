package io.epp4j.bench.sim;

/**
 * Injected misbehaviour of one simulated server, switchable at run time.
 *
 * @param slowFactor multiplies every latency (1 = normal)
 * @param errorRate fraction of completion requests answered with HTTP 500 (0..1)
 * @param garbageMetrics {@code /metrics} answers text that is not Prometheus exposition
 * @param hang completion requests are accepted and never answered (until the server stops)
 */
public record Faults(double slowFactor, double errorRate, boolean garbageMetrics, boolean hang) {

    public static final Faults NONE = new Faults(1.0, 0.0, false, false);

    /**
     * Parses a comma list such as {@code slow=4,errors=0.1,garbage-metrics,hang}; "" or "none" is {@link #NONE}.
     */
    public static Faults parse(String spec) {
        Faults f = NONE;
        if (spec == null || spec.isBlank() || spec.equals("none")) {
            return f;
        }
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=", 2);
            switch (kv[0]) {
                case "slow" -> f = new Faults(kv.length > 1 ? Double.parseDouble(kv[1]) : 4.0, f.errorRate,
                        f.garbageMetrics, f.hang);
                case "errors" -> f = new Faults(f.slowFactor, kv.length > 1 ? Double.parseDouble(kv[1]) : 1.0,
                        f.garbageMetrics, f.hang);
                case "garbage-metrics" -> f = new Faults(f.slowFactor, f.errorRate, true, f.hang);
                case "hang" -> f = new Faults(f.slowFactor, f.errorRate, f.garbageMetrics, true);
                default -> throw new IllegalArgumentException("unknown fault: " + kv[0]
                        + " (known: slow=F, errors=RATE, garbage-metrics, hang)");
            }
        }
        return f;
    }
}
