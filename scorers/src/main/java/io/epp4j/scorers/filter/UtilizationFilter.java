package io.epp4j.scorers.filter;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code utilization-filter} (llm-d): drops every endpoint over any of the configured caps. Each entry of
 * {@code conditions} caps one metric at {@code maxValue}: {@code active-requests} (requests this EPP has in flight
 * to the endpoint, queued or running), {@code running-requests} and {@code waiting-queue} (as the model server
 * reports them) and {@code kv-cache-utilization} (a fraction, at most 1). A metric the endpoint has not reported
 * counts as 0. With {@code fallbackOnEmpty} the unfiltered candidates are returned when none is left.
 * {@code inFlightLoadProducerName} is accepted for llm-d compatibility: the endpoint store counts in-flight
 * requests itself.
 */
public final class UtilizationFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "utilization-filter";

    /** The metrics a condition may cap. */
    enum Metric {
        ACTIVE_REQUESTS("active-requests"),
        RUNNING_REQUESTS("running-requests"),
        WAITING_QUEUE("waiting-queue"),
        KV_CACHE_UTILIZATION("kv-cache-utilization");

        final String key;

        Metric(String key) {
            this.key = key;
        }

        static Metric of(String key) {
            for (Metric m : values()) {
                if (m.key.equals(key)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("conditions[].metric must be one of active-requests,"
                    + " running-requests, waiting-queue, kv-cache-utilization, got '" + key + "'");
        }

        /** Whether the endpoint reported this metric (the EPP's own in-flight count always is). */
        boolean reported(Endpoint e) {
            EndpointMetrics m = e.metrics();
            return switch (this) {
                case ACTIVE_REQUESTS -> true;
                case RUNNING_REQUESTS -> m.runningRequests() >= 0;
                case WAITING_QUEUE -> m.waitingQueueSize() >= 0;
                case KV_CACHE_UTILIZATION -> !Double.isNaN(m.kvCacheUsage());
            };
        }

        double of(Endpoint e) {
            EndpointMetrics m = e.metrics();
            return switch (this) {
                case ACTIVE_REQUESTS -> e.inFlightRequests();
                case RUNNING_REQUESTS -> Math.max(0, m.runningRequests());
                case WAITING_QUEUE -> Math.max(0, m.waitingQueueSize());
                case KV_CACHE_UTILIZATION -> Double.isNaN(m.kvCacheUsage()) ? 0.0 : m.kvCacheUsage();
            };
        }
    }

    record Condition(Metric metric, double maxValue) {
    }

    private final List<Condition> conditions;
    private final boolean fallbackOnEmpty;
    private final WarnOnce unreported = new WarnOnce(UtilizationFilter.class);

    public UtilizationFilter(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.fallbackOnEmpty = parameters.getBoolean("fallbackOnEmpty", false);
        Object raw = parameters.asMap().get("conditions");
        if (!(raw instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("parameter 'conditions' must list at least one condition");
        }
        List<Condition> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("each of 'conditions' must be a mapping with metric and maxValue");
            }
            @SuppressWarnings("unchecked")
            PluginParameters c = new PluginParameters((Map<String, Object>) m);
            Metric metric = Metric.of(c.getString("metric", ""));
            if (!c.has("maxValue")) {
                throw new IllegalArgumentException("conditions[].maxValue is required for metric " + metric.key);
            }
            double max = c.getDouble("maxValue", 0);
            if (max < 0 || (metric == Metric.KV_CACHE_UTILIZATION && max > 1)) {
                throw new IllegalArgumentException("conditions[].maxValue of " + metric.key + " must be "
                        + (metric == Metric.KV_CACHE_UTILIZATION ? "in [0, 1]" : ">= 0") + ", got " + max);
            }
            out.add(new Condition(metric, max));
        }
        this.conditions = List.copyOf(out);
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        List<Endpoint> kept = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            if (withinCaps(e)) {
                kept.add(e);
            }
        }
        if (unreported.pending()) {
            warnIfUnreported(endpoints);
        }
        return kept.isEmpty() && fallbackOnEmpty ? endpoints : kept;
    }

    private void warnIfUnreported(List<Endpoint> endpoints) {
        for (Condition c : conditions) {
            if (!endpoints.isEmpty() && endpoints.stream().noneMatch(c.metric()::reported)) {
                unreported.warn("{}: no candidate endpoint reports {}; it counts as 0 and caps nothing until"
                        + " the model servers are scraped", name(), c.metric().key);
                return;
            }
        }
    }

    private boolean withinCaps(Endpoint e) {
        for (Condition c : conditions) {
            if (c.metric().of(e) > c.maxValue()) {
                return false;
            }
        }
        return true;
    }
}
