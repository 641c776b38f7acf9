package io.epp4j.bench.sim;

/**
 * Injected misbehaviour of one simulated server, switchable at run time ({@link SimServer#setFaults}, or
 * {@code POST /sim/faults} with the spec as the body).
 *
 * @param slowFactor multiplies every latency (1 = normal)
 * @param errorRate fraction of completion requests answered with HTTP 500 (0..1)
 * @param garbageMetrics {@code /metrics} answers text that is not Prometheus exposition
 * @param hang completion requests are accepted and never answered (until the server stops)
 * @param kvEventsStopped the pod's KV-event publisher sends nothing and answers no replay request; its batches are
 *     still numbered and kept for replay, so once resumed a subscriber can replay the gap
 * @param kvSkipBatches when the faults are set, the pod's next this many KV-event batches are numbered but neither
 *     sent nor kept for replay: a sequence gap no replay can fill
 */
public record Faults(double slowFactor, double errorRate, boolean garbageMetrics, boolean hang,
                     boolean kvEventsStopped, int kvSkipBatches) {

    public static final Faults NONE = new Faults(1.0, 0.0, false, false, false, 0);

    /**
     * Parses a comma list such as {@code slow=4,errors=0.1,garbage-metrics,hang,kv-stop,kv-skip=5}; "" or "none" is
     * {@link #NONE}.
     */
    public static Faults parse(String spec) {
        Faults f = NONE;
        if (spec == null || spec.isBlank() || spec.trim().equals("none")) {
            return f;
        }
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=", 2);
            switch (kv[0]) {
                case "slow" -> f = new Faults(kv.length > 1 ? Double.parseDouble(kv[1]) : 4.0, f.errorRate,
                        f.garbageMetrics, f.hang, f.kvEventsStopped, f.kvSkipBatches);
                case "errors" -> f = new Faults(f.slowFactor, kv.length > 1 ? Double.parseDouble(kv[1]) : 1.0,
                        f.garbageMetrics, f.hang, f.kvEventsStopped, f.kvSkipBatches);
                case "garbage-metrics" -> f = new Faults(f.slowFactor, f.errorRate, true, f.hang, f.kvEventsStopped,
                        f.kvSkipBatches);
                case "hang" -> f = new Faults(f.slowFactor, f.errorRate, f.garbageMetrics, true, f.kvEventsStopped,
                        f.kvSkipBatches);
                case "kv-stop" -> f = new Faults(f.slowFactor, f.errorRate, f.garbageMetrics, f.hang, true,
                        f.kvSkipBatches);
                case "kv-skip" -> {
                    int n = kv.length > 1 ? Integer.parseInt(kv[1].trim()) : 1;
                    if (n < 1) {
                        throw new IllegalArgumentException("kv-skip needs a positive batch count");
                    }
                    f = new Faults(f.slowFactor, f.errorRate, f.garbageMetrics, f.hang, f.kvEventsStopped, n);
                }
                default -> throw new IllegalArgumentException("unknown fault: " + kv[0]
                        + " (known: slow=F, errors=RATE, garbage-metrics, hang, kv-stop, kv-skip=N)");
            }
        }
        return f;
    }
}
