package io.epp4j.scorers.attribute;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.Map;

/**
 * {@code endpoint-attribute-scorer} (llm-d): scores endpoints by one numeric attribute ({@code attributeKey}, a
 * custom metric of the {@code core-metrics-extractor}; see {@link AttributeKey} for {@code producer}), linearly
 * between a minimum and a maximum. {@code algorithm.type} is {@code linear_higher_is_better} or
 * {@code linear_lower_is_better}. {@code algorithm.normalization.adaptiveRange} (default) takes the range over the
 * candidates that have the attribute (all equal ⇒ 1.0); {@code fixedRange: {min, max}} uses fixed bounds and
 * clamps. An endpoint without the attribute scores 0.
 */
public final class EndpointAttributeScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "endpoint-attribute-scorer";

    private final AttributeKey attribute;
    private final boolean lowerIsBetter;
    private final boolean fixed;
    private final double min;
    private final double max;

    public EndpointAttributeScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.attribute = new AttributeKey(name(), parameters, "attributeKey");
        PluginParameters algorithm = new PluginParameters(parameters.getMap("algorithm"));
        String type = algorithm.getString("type", "");
        if (!type.equals("linear_lower_is_better") && !type.equals("linear_higher_is_better")) {
            throw new IllegalArgumentException("parameter 'algorithm.type' must be linear_lower_is_better or"
                    + " linear_higher_is_better, got '" + type + "'");
        }
        this.lowerIsBetter = type.equals("linear_lower_is_better");
        Map<String, Object> normalization = algorithm.getMap("normalization");
        if (normalization.containsKey("fixedRange") && normalization.containsKey("adaptiveRange")) {
            throw new IllegalArgumentException("'algorithm.normalization' allows one of fixedRange and adaptiveRange");
        }
        this.fixed = normalization.containsKey("fixedRange");
        PluginParameters range = new PluginParameters(new PluginParameters(normalization).getMap("fixedRange"));
        this.min = range.getDouble("min", 0);
        this.max = range.getDouble("max", 0);
        if (fixed && !(min < max)) {
            throw new IllegalArgumentException("'algorithm.normalization.fixedRange' needs min < max, got min " + min
                    + ", max " + max);
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        double[] values = new double[n];
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            values[i] = attribute.valueOf(endpoints.get(i));
            if (!Double.isNaN(values[i])) {
                lo = Math.min(lo, values[i]);
                hi = Math.max(hi, values[i]);
            }
        }
        if (fixed) {
            lo = min;
            hi = max;
        }
        for (int i = 0; i < n; i++) {
            double v = values[i];
            if (Double.isNaN(v)) {
                scores[i] = 0.0;
            } else if (hi == lo) {
                scores[i] = 1.0;
            } else {
                double x = Math.max(0.0, Math.min(1.0, (v - lo) / (hi - lo)));
                scores[i] = lowerIsBetter ? 1.0 - x : x;
            }
        }
        attribute.warnIfAbsentFromAll(endpoints, "every endpoint scores 0");
    }
}
