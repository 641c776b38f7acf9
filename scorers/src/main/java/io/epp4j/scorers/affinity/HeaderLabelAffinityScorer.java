package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.Locale;

/**
 * {@code header-label-affinity-scorer} (llm-d): 1.0 for endpoints whose label {@code labelKey} equals the request
 * header {@code headerName}, 0 for the others, which stay eligible. Without the header, every endpoint scores 0.
 * One instance per header-to-label mapping, so each preference gets its own weight.
 */
public final class HeaderLabelAffinityScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "header-label-affinity-scorer";

    private final String headerName;
    private final String labelKey;
    private final WarnOnce unlabelled = new WarnOnce(HeaderLabelAffinityScorer.class);

    public HeaderLabelAffinityScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.headerName = parameters.getString("headerName", "").trim().toLowerCase(Locale.ROOT);
        this.labelKey = parameters.getString("labelKey", "").trim();
        if (headerName.isEmpty() || labelKey.isEmpty()) {
            throw new IllegalArgumentException("parameters 'headerName' and 'labelKey' are required");
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        String wanted = request.header(headerName);
        boolean anyLabelled = false;
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            String value = endpoints.get(i).info().labels().get(labelKey);
            anyLabelled |= value != null;
            scores[i] = wanted != null && wanted.equals(value) ? 1.0 : 0.0;
        }
        if (wanted != null && !anyLabelled && !endpoints.isEmpty()) {
            unlabelled.warn("{}: no candidate endpoint has the label {}; header {} scores 0 everywhere", name(),
                    labelKey, headerName);
        }
    }
}
