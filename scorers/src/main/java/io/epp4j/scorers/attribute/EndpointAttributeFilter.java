package io.epp4j.scorers.attribute;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoublePredicate;

/**
 * {@code endpoint-attribute-filter} (llm-d): keeps the endpoints whose numeric attribute ({@code attribute}, a
 * custom metric of the {@code core-metrics-extractor}; see {@link AttributeKey} for {@code producer}) passes
 * {@code algorithm.threshold}: {@code operator} ({@code LessThan}, {@code LessThanOrEqual}, {@code GreaterThan},
 * {@code GreaterThanOrEqual}, {@code Equal}, {@code NotEqual}) against {@code value}. {@code algorithm.type} must be
 * {@code threshold}. {@code onMissing}: {@code Pass} (default) keeps endpoints without the attribute, {@code Fail}
 * drops them. With {@code fallbackOnEmpty} (default false) the unfiltered candidates are returned when none is left.
 */
public final class EndpointAttributeFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "endpoint-attribute-filter";

    private final AttributeKey attribute;
    private final boolean passOnMissing;
    private final boolean fallbackOnEmpty;
    private final DoublePredicate passes;

    public EndpointAttributeFilter(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.attribute = new AttributeKey(name(), parameters, "attribute");
        String onMissing = parameters.getString("onMissing", "Pass");
        if (!onMissing.equals("Pass") && !onMissing.equals("Fail")) {
            throw new IllegalArgumentException("parameter 'onMissing' must be Pass or Fail, got '" + onMissing + "'");
        }
        this.passOnMissing = onMissing.equals("Pass");
        this.fallbackOnEmpty = parameters.getBoolean("fallbackOnEmpty", false);
        PluginParameters algorithm = new PluginParameters(parameters.getMap("algorithm"));
        if (!algorithm.getString("type", "").equals("threshold")) {
            throw new IllegalArgumentException("parameter 'algorithm.type' must be threshold, got '"
                    + algorithm.getString("type", "") + "'");
        }
        PluginParameters threshold = new PluginParameters(algorithm.getMap("threshold"));
        if (!threshold.has("operator") || !threshold.has("value")) {
            throw new IllegalArgumentException("'algorithm.threshold' needs operator and value");
        }
        double t = threshold.getDouble("value", 0);
        String op = threshold.getString("operator", "");
        this.passes = switch (op) {
            case "LessThan" -> v -> v < t;
            case "LessThanOrEqual" -> v -> v <= t;
            case "GreaterThan" -> v -> v > t;
            case "GreaterThanOrEqual" -> v -> v >= t;
            case "Equal" -> v -> v == t;
            case "NotEqual" -> v -> v != t;
            default -> throw new IllegalArgumentException("'algorithm.threshold.operator' must be LessThan,"
                    + " LessThanOrEqual, GreaterThan, GreaterThanOrEqual, Equal or NotEqual, got '" + op + "'");
        };
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        List<Endpoint> kept = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            double v = attribute.valueOf(e);
            if (Double.isNaN(v) ? passOnMissing : passes.test(v)) {
                kept.add(e);
            }
        }
        attribute.warnIfAbsentFromAll(endpoints, passOnMissing ? "every endpoint passes (onMissing: Pass)"
                : "every endpoint is dropped (onMissing: Fail)");
        return kept.isEmpty() && fallbackOnEmpty ? endpoints : kept;
    }
}
