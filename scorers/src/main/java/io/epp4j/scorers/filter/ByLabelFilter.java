package io.epp4j.scorers.filter;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code by-label} (llm-d): keeps endpoints whose label {@code label} has one of {@code validValues} (exact
 * match); endpoints without the label pass only when {@code allowsNoLabel}.
 */
public final class ByLabelFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "by-label";

    private final String label;
    private final Set<String> validValues;
    private final boolean allowsNoLabel;

    public ByLabelFilter(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.label = parameters.getString("label", "");
        this.validValues = Set.copyOf(parameters.getStringList("validValues"));
        this.allowsNoLabel = parameters.getBoolean("allowsNoLabel", false);
        if (label.isEmpty()) {
            throw new IllegalArgumentException("parameter 'label' is required");
        }
        if (validValues.isEmpty() && !allowsNoLabel) {
            throw new IllegalArgumentException("parameter 'validValues' is required unless 'allowsNoLabel' is true");
        }
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        return withLabel(endpoints, label, validValues, allowsNoLabel);
    }

    /** The endpoints whose {@code label} is one of {@code values}, and those without it when {@code unlabelled}. */
    static List<Endpoint> withLabel(List<Endpoint> endpoints, String label, Set<String> values, boolean unlabelled) {
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            String value = e.info().labels().get(label);
            if (value == null ? unlabelled : values.contains(value)) {
                out.add(e);
            }
        }
        return out;
    }
}
