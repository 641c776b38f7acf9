package io.epp4j.epp.bbr;

import io.epp4j.epp.extproc.BodyRouter;
import io.epp4j.epp.request.InvalidRequestException;
import io.epp4j.epp.request.TopLevelFields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The body-based router: one streaming scan of the body for the fields its plugins read, then each plugin's
 * header. A body that is not a JSON object, or names no model, gets no headers; each request's outcome is counted.
 * Immutable and thread-safe.
 */
public final class BodyRouting implements BodyRouter {

    private static final Logger LOG = LoggerFactory.getLogger(BodyRouting.class);

    private final List<BbrPlugin> plugins;
    private final Set<String> fields;
    private final Set<String> headers;
    private final BbrMetrics metrics;

    public BodyRouting(List<BbrPlugin> plugins, BbrMetrics metrics) {
        this.plugins = List.copyOf(plugins);
        Set<String> f = new HashSet<>();
        f.add(BaseModelToHeader.MODEL_FIELD); // read always: it names the outcome
        Set<String> h = new LinkedHashSet<>();
        for (BbrPlugin p : plugins) {
            f.addAll(p.fields());
            h.add(p.header());
        }
        this.fields = Set.copyOf(f);
        this.headers = Set.copyOf(h);
        this.metrics = metrics;
    }

    @Override
    public Map<String, String> route(Map<String, String> requestHeaders, byte[] body, int length) {
        Map<String, String> values;
        Set<String> strings = new HashSet<>(4);
        try {
            values = TopLevelFields.read(body, length, fields, strings);
        } catch (InvalidRequestException e) {
            metrics.count(BbrMetrics.Outcome.NOT_JSON);
            LOG.debug("Body-based routing skipped a {}-byte body: {}", length, e.getMessage());
            return Map.of();
        }
        BbrRequest request = new BbrRequest(requestHeaders, values, strings, body, length);
        Map<String, String> set = new HashMap<>(4);
        for (BbrPlugin p : plugins) {
            String v = p.value(request);
            if (v != null) {
                set.put(p.header(), v);
            }
        }
        BbrMetrics.Outcome outcome = request.model() == null ? BbrMetrics.Outcome.NO_MODEL
                : set.size() == headers.size() ? BbrMetrics.Outcome.ROUTED : BbrMetrics.Outcome.UNMAPPED;
        metrics.count(outcome);
        if (LOG.isDebugEnabled()) {
            LOG.debug("Body-based routing: model {} -> {} ({})", request.model(), set, outcome);
        }
        return set;
    }

    @Override
    public Set<String> headerNames() {
        return headers;
    }

    @Override
    public void tooLarge() {
        metrics.count(BbrMetrics.Outcome.TOO_LARGE);
    }
}
