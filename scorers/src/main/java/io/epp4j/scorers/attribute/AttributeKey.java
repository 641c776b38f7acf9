package io.epp4j.scorers.attribute;

import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;

import java.util.List;

/**
 * The endpoint attribute an {@code endpoint-attribute-*} plugin reads: a custom scalar metric that the
 * {@code core-metrics-extractor} publishes ({@code engineConfigs[].customMetrics[].attributeKey}). llm-d spells the
 * publisher as {@code producer}: omitted means the core metrics extractor, the only producer of custom attributes in
 * epp4j; any other producer (for example {@code dcgm-extractor}) publishes nothing here, so the plugin treats every
 * endpoint as missing the attribute and says so at start-up.
 */
final class AttributeKey {

    static final String CORE = "core-metrics-extractor";

    private final String key;
    private final String owner;
    private final boolean published;
    private final WarnOnce absent = new WarnOnce(AttributeKey.class);

    AttributeKey(String owner, PluginParameters parameters, String field) {
        this.owner = owner;
        this.key = parameters.getString(field, "").trim();
        if (key.isEmpty()) {
            throw new IllegalArgumentException("parameter '" + field + "' is required");
        }
        boolean producerSet = parameters.asMap().containsKey("producer");
        String producer = producerSet ? parameters.getString("producer", "") : CORE;
        if (!producerSet && key.contains("/")) {
            int slash = key.lastIndexOf('/');
            throw new IllegalArgumentException("parameter '" + field + "' (" + key + ") contains '/' but no"
                    + " 'producer' is set: write " + field + ": " + key.substring(0, slash) + " and producer: "
                    + key.substring(slash + 1) + ", or set 'producer' explicitly");
        }
        this.published = producer.equals(CORE) || producer.isEmpty();
        if (!published) {
            new WarnOnce(AttributeKey.class).warn("{}: producer '{}' publishes no attributes in epp4j (only the"
                    + " core-metrics-extractor's customMetrics do); every endpoint lacks '{}'", owner, producer, key);
        }
    }

    /** The endpoint's value, or NaN when it has none. */
    double valueOf(Endpoint e) {
        Double v = published ? e.metrics().attributes().get(key) : null;
        return v == null ? Double.NaN : v;
    }

    /** Warns once when none of the endpoints has the attribute. */
    void warnIfAbsentFromAll(List<Endpoint> endpoints, String consequence) {
        if (!published) {
            return; // said at start-up
        }
        for (Endpoint e : endpoints) {
            if (e.metrics().attributes().containsKey(key)) {
                return;
            }
        }
        if (!endpoints.isEmpty()) {
            absent.warn("{}: no endpoint has attribute '{}' (map it with core-metrics-extractor"
                    + " engineConfigs[].customMetrics); {}", owner, key, consequence);
        }
    }
}
