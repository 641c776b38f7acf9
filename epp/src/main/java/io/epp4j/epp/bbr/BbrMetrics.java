package io.epp4j.epp.bbr;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The body-based router's metrics: {@code epp4j_bbr_requests_total{outcome}} and
 * {@code epp4j_bbr_base_model_map_reload_total{result}}. Thread-safe.
 */
public final class BbrMetrics {

    /** What became of one request's body. */
    public enum Outcome {
        /** every plugin set its header */
        ROUTED("routed"),
        /** the body names a model, but a plugin set nothing (e.g. the model is not in the base-model map) */
        UNMAPPED("unmapped"),
        /** a JSON object without a (string) model field */
        NO_MODEL("no_model"),
        /** not one JSON object */
        NOT_JSON("not_json"),
        /** over the body size limit, passed on unread */
        TOO_LARGE("too_large");

        final String label;

        Outcome(String label) {
            this.label = label;
        }
    }

    private final CounterDataPoint[] outcomes = new CounterDataPoint[Outcome.values().length];
    private final Counter reloads;

    public BbrMetrics(PrometheusRegistry registry) {
        Counter requests = Counter.builder().name("epp4j_bbr_requests_total")
                .help("Requests seen by the body-based router, by outcome (routed, unmapped, no_model, not_json, "
                        + "too_large); all of them continue to route matching")
                .labelNames("outcome").register(registry);
        for (Outcome o : Outcome.values()) {
            outcomes[o.ordinal()] = requests.labelValues(o.label);
        }
        reloads = Counter.builder().name("epp4j_bbr_base_model_map_reload_total")
                .help("--base-model-map reloads by result (success: now serving; failure: rejected, old map kept)")
                .labelNames("result").register(registry);
    }

    public void count(Outcome outcome) {
        outcomes[outcome.ordinal()].inc();
    }

    void mapReloaded(boolean success) {
        reloads.labelValues(success ? "success" : "failure").inc();
    }
}
