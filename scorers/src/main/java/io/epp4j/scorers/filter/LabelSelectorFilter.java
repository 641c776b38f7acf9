package io.epp4j.scorers.filter;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code label-selector-filter} (alias {@code by-label-selector}): a Kubernetes label selector, {@code matchLabels}
 * (all pairs ANDed) and {@code matchExpressions} ({@code In}, {@code NotIn}, {@code Exists}, {@code DoesNotExist}).
 */
public final class LabelSelectorFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "label-selector-filter";
    public static final String ALIAS = "by-label-selector";

    private record Requirement(String key, String operator, Set<String> values) {
        boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (operator) {
                case "In" -> v != null && values.contains(v);
                case "NotIn" -> v == null || !values.contains(v);
                case "Exists" -> v != null;
                case "DoesNotExist" -> v == null;
                default -> false;
            };
        }
    }

    private final Map<String, String> matchLabels;
    private final List<Requirement> expressions;

    public LabelSelectorFilter(String type, String name, PluginParameters parameters) {
        super(type, name);
        Map<String, String> labels = new java.util.LinkedHashMap<>();
        parameters.getMap("matchLabels").forEach((k, v) -> labels.put(k, String.valueOf(v)));
        this.matchLabels = Map.copyOf(labels);
        List<Requirement> reqs = new ArrayList<>();
        Object raw = parameters.asMap().get("matchExpressions");
        if (raw != null) {
            if (!(raw instanceof List<?> list)) {
                throw new IllegalArgumentException("parameter 'matchExpressions' must be a list");
            }
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> m)) {
                    throw new IllegalArgumentException("parameter 'matchExpressions' entries must be mappings");
                }
                PluginParameters p = new PluginParameters(castMap(m));
                String op = p.getString("operator", "");
                if (!Set.of("In", "NotIn", "Exists", "DoesNotExist").contains(op)) {
                    throw new IllegalArgumentException("parameter 'matchExpressions[].operator' must be In, NotIn,"
                            + " Exists or DoesNotExist, got '" + op + "'");
                }
                String key = p.getString("key", "");
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("parameter 'matchExpressions[].key' is required");
                }
                reqs.add(new Requirement(key, op, Set.copyOf(p.getStringList("values"))));
            }
        }
        this.expressions = List.copyOf(reqs);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            if (matches(e.info().labels())) {
                out.add(e);
            }
        }
        return out;
    }

    private boolean matches(Map<String, String> labels) {
        for (Map.Entry<String, String> kv : matchLabels.entrySet()) {
            if (!kv.getValue().equals(labels.get(kv.getKey()))) {
                return false;
            }
        }
        for (Requirement r : expressions) {
            if (!r.matches(labels)) {
                return false;
            }
        }
        return true;
    }
}
