package io.epp4j.epp.plugins;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ResponseUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code request-attribute-reporter} (GAIE, llm-d): computes one integer from the response's token usage with a CEL
 * expression and reports it to the gateway as dynamic metadata, {@code <namespace>.<name>} (namespace
 * {@code envoy.lb} unless set), on the answer that ends the response, for example
 * {@code envoy.lb.x-gateway-inference-request-cost = usage.prompt_tokens + usage.completion_tokens}.
 *
 * <p>The expressions see {@code usage} as llm-d builds it from the response: {@code prompt_tokens},
 * {@code completion_tokens} and {@code total_tokens} (always present, 0 when the response reported none) and,
 * when reported, {@code prompt_token_details.cached_tokens}; numbers are doubles, as in a protobuf Struct. An
 * optional {@code condition} must be true for the value to be reported. The value is truncated to an integer; 0,
 * a failed evaluation and a result that is not a number report nothing. Parameters: {@code attributes}, exactly one
 * entry {@code {key: {namespace, name}, expression, condition}}; both expressions are compiled at start-up.
 * Thread-safe.
 */
public final class RequestAttributeReporter implements ResponseAttributeReporter {

    public static final String TYPE = "request-attribute-reporter";
    static final String DEFAULT_NAMESPACE = "envoy.lb";

    private static final Logger LOG = LoggerFactory.getLogger(RequestAttributeReporter.class);
    private static final Cel CEL = CelFactory.standardCelBuilder()
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar("usage", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .build();

    private final String name;
    private final String namespace;
    private final String attribute;
    private final String expressionText;
    private final CelRuntime.Program expression;
    private final CelRuntime.Program condition;
    private final WarnOnce notANumber = new WarnOnce(RequestAttributeReporter.class);

    @SuppressWarnings("unchecked")
    public RequestAttributeReporter(String name, PluginParameters parameters) {
        this.name = name == null || name.isEmpty() ? TYPE : name;
        Object raw = parameters.asMap().get("attributes");
        if (!(raw instanceof List<?> list) || list.size() != 1 || !(list.get(0) instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("parameter 'attributes' must contain exactly one entry"
                    + " {key: {namespace, name}, expression, condition}");
        }
        PluginParameters entry = new PluginParameters((Map<String, Object>) list.get(0));
        PluginParameters key = new PluginParameters(entry.getMap("key"));
        this.attribute = key.getString("name", "");
        if (attribute.isEmpty()) {
            throw new IllegalArgumentException("parameter 'attributes[0].key.name' is required");
        }
        String ns = key.getString("namespace", "");
        this.namespace = ns.isEmpty() ? DEFAULT_NAMESPACE : ns;
        this.expressionText = entry.getString("expression", "").trim();
        if (expressionText.isEmpty()) {
            throw new IllegalArgumentException("parameter 'attributes[0].expression' is required");
        }
        this.expression = compile(expressionText, "attributes[0].expression");
        String conditionText = entry.getString("condition", "").trim();
        this.condition = conditionText.isEmpty() ? null : compile(conditionText, "attributes[0].condition");
    }

    private static CelRuntime.Program compile(String text, String field) {
        try {
            CelAbstractSyntaxTree ast = CEL.compile(text).getAst();
            return CEL.createProgram(ast);
        } catch (CelValidationException | CelEvaluationException e) {
            throw new IllegalArgumentException("parameter '" + field + "' is not a valid CEL expression: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    /** {@code usage} as the expressions see it. */
    static Map<String, Object> usageVariable(ResponseUsage usage) {
        Map<String, Object> m = new HashMap<>(8);
        m.put("prompt_tokens", (double) Math.max(0, usage.promptTokens()));
        m.put("completion_tokens", (double) Math.max(0, usage.completionTokens()));
        m.put("total_tokens", (double) Math.max(0, usage.totalTokens()));
        if (usage.cachedTokens() >= 0) {
            m.put("prompt_token_details", Map.of("cached_tokens", (double) usage.cachedTokens()));
        }
        return m;
    }

    @Override
    public void report(ResponseUsage usage, Map<String, Map<String, Double>> into) {
        Map<String, Object> vars = Map.of("usage", usageVariable(usage));
        try {
            if (condition != null && !Boolean.TRUE.equals(condition.eval(vars))) {
                return;
            }
            Object result = expression.eval(vars);
            long value;
            if (result instanceof Double d) {
                value = (long) d.doubleValue();
            } else if (result instanceof Long l) {
                value = l;
            } else {
                notANumber.warn("{}: expression {} gave {}, not a number; nothing is reported", name, expressionText,
                        result);
                return;
            }
            if (value != 0) {
                into.computeIfAbsent(namespace, n -> new java.util.LinkedHashMap<>()).put(attribute, (double) value);
            }
        } catch (CelEvaluationException e) {
            LOG.debug("{}: evaluating {} failed: {}", name, expressionText, e.getMessage());
        }
    }
}
