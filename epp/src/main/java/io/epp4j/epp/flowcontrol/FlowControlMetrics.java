package io.epp4j.epp.flowcontrol;

import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * GAIE's {@code inference_extension_flow_control_*} metrics. Label sets of a flow are removed when the flow is
 * collected, so distinct fairness ids do not pile up in memory. Thread-safe.
 */
public final class FlowControlMetrics {

    private static final double[] QUEUE_BUCKETS = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30,
        60};
    private static final double[] CYCLE_BUCKETS = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1};

    private final String pool;
    private final Histogram queueDuration;
    private final Gauge queueSize;
    private final Gauge queueBytes;
    private final Histogram cycleDuration;
    private final Histogram enqueueDuration;
    private final Gauge saturation;

    /** @param pool the {@code inference_pool} label ("" in static mode) */
    public FlowControlMetrics(PrometheusRegistry registry, String pool) {
        this.pool = pool == null ? "" : pool;
        queueDuration = Histogram.builder().name("inference_extension_flow_control_request_queue_duration_seconds")
                .help("[ALPHA] Distribution of the total time requests spend in the flow control layer, from "
                        + "enqueue to final outcome.")
                .classicOnly().classicUpperBounds(QUEUE_BUCKETS)
                .labelNames("fairness_id", "priority", "outcome", "inference_pool", "model_name", "target_model_name")
                .register(registry);
        queueSize = Gauge.builder().name("inference_extension_flow_control_queue_size")
                .help("[ALPHA] Current number of requests being actively managed by the flow control layer.")
                .labelNames("fairness_id", "priority", "inference_pool", "model_name", "target_model_name")
                .register(registry);
        queueBytes = Gauge.builder().name("inference_extension_flow_control_queue_bytes")
                .help("[ALPHA] Current size in bytes of requests being actively managed by the flow control layer.")
                .labelNames("fairness_id", "priority", "inference_pool", "model_name", "target_model_name")
                .register(registry);
        cycleDuration = Histogram.builder().name("inference_extension_flow_control_dispatch_cycle_duration_seconds")
                .help("[ALPHA] Distribution of the time taken for each dispatch cycle in the flow control layer.")
                .classicOnly().classicUpperBounds(CYCLE_BUCKETS).register(registry);
        enqueueDuration = Histogram.builder().name("inference_extension_flow_control_request_enqueue_duration_seconds")
                .help("[ALPHA] Distribution of the time taken to enqueue requests by the flow control layer.")
                .classicOnly().classicUpperBounds(CYCLE_BUCKETS)
                .labelNames("fairness_id", "priority", "outcome").register(registry);
        saturation = Gauge.builder().name("inference_extension_flow_control_pool_saturation")
                .help("[ALPHA] Current saturation level of the inference pool (0.0 = empty, 1.0 = saturated).")
                .labelNames("inference_pool").register(registry);
    }

    void enqueued(FlowRequest r, String outcome, double seconds) {
        enqueueDuration.labelValues(r.fairnessId(), Integer.toString(r.priority()), outcome).observe(seconds);
    }

    void queued(FlowRequest r, int sign) {
        String priority = Integer.toString(r.priority());
        queueSize.labelValues(r.fairnessId(), priority, pool, r.model(), r.targetModel()).inc(sign);
        queueBytes.labelValues(r.fairnessId(), priority, pool, r.model(), r.targetModel()).inc(sign * r.sizeBytes());
    }

    void finalized(FlowRequest r, Outcome outcome, double seconds) {
        queueDuration.labelValues(r.fairnessId(), Integer.toString(r.priority()), outcome.label(), pool, r.model(),
                r.targetModel()).observe(seconds);
    }

    void cycle(double seconds) {
        cycleDuration.observe(seconds);
    }

    void saturation(double value) {
        saturation.labelValues(pool).set(value);
    }

    /** Drops the label sets a collected flow used, {@code models} holding its (model, target model) pairs. */
    void forget(String fairnessId, int priority, Iterable<java.util.List<String>> models) {
        String p = Integer.toString(priority);
        for (java.util.List<String> m : models) {
            queueSize.remove(fairnessId, p, pool, m.get(0), m.get(1));
            queueBytes.remove(fairnessId, p, pool, m.get(0), m.get(1));
            for (Outcome o : Outcome.values()) {
                queueDuration.remove(fairnessId, p, o.label(), pool, m.get(0), m.get(1));
            }
        }
        for (String o : new String[] {"NotYetFinalized", Outcome.DISPATCHED.label(),
            Outcome.REJECTED_CAPACITY.label()}) {
            enqueueDuration.remove(fairnessId, p, o);
        }
    }
}
