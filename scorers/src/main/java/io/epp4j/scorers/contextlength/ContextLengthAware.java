package io.epp4j.scorers.contextlength;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code context-length-aware} (llm-d): sends a request to the endpoints whose label {@code label} (default
 * {@code llm-d.ai/context-length-range}, value {@code "min-max"} in tokens) covers its context length.
 *
 * <p>Scores: an endpoint whose range holds the request scores in (0.3, 1], higher for a narrower range and for more
 * headroom above the request; one whose range misses it scores in [0, 0.3), higher the closer its nearest bound; an
 * endpoint without the label scores 0.5, one with an unreadable label 0. With {@code enableFiltering} (default
 * false) it is also a filter that drops labelled endpoints whose range misses the request (unlabelled ones stay).
 * The context length is the prompt estimate of 4 bytes a token ({@link InferenceRequest#estimatedPromptTokens}).
 */
public final class ContextLengthAware extends NamedPlugin implements Scorer, Filter {

    public static final String TYPE = "context-length-aware";
    public static final String DEFAULT_LABEL = "llm-d.ai/context-length-range";

    static final double OUT_OF_RANGE_CEILING = 0.3;
    static final double UNLABELLED = 0.5;

    private final String label;
    private final boolean enableFiltering;
    private final WarnOnce noLabel = new WarnOnce(ContextLengthAware.class);
    private final WarnOnce badLabel = new WarnOnce(ContextLengthAware.class);

    public ContextLengthAware(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.label = parameters.getString("label", DEFAULT_LABEL).trim();
        this.enableFiltering = parameters.getBoolean("enableFiltering", false);
        if (label.isEmpty()) {
            throw new IllegalArgumentException("parameter 'label' must not be empty");
        }
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        if (!enableFiltering) {
            return endpoints;
        }
        long tokens = request.estimatedPromptTokens();
        List<Endpoint> kept = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            String value = e.info().labels().get(label);
            if (value == null) {
                kept.add(e);
                continue;
            }
            long[] range = range(e, value);
            if (range != null && tokens >= range[0] && tokens <= range[1]) {
                kept.add(e);
            }
        }
        return kept;
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        long tokens = request.estimatedPromptTokens();
        boolean anyLabelled = false;
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            Endpoint e = endpoints.get(i);
            String value = e.info().labels().get(label);
            if (value == null) {
                scores[i] = UNLABELLED;
                continue;
            }
            anyLabelled = true;
            long[] range = range(e, value);
            scores[i] = range == null ? 0.0 : rangeScore(tokens, range[0], range[1]);
        }
        if (!anyLabelled && !endpoints.isEmpty()) {
            noLabel.warn("{}: no candidate endpoint has the label {}; every endpoint scores {} until pods carry it",
                    name(), label, UNLABELLED);
        }
    }

    /**
     * The score of a {@code [min, max]} range for a request of {@code tokens}. Inside: 0.3 + 0.7 × (0.7 × width
     * term + 0.3 × headroom share), the width term being 1/(1 + width/10000). Outside: 0.3/(1 + distance/1000).
     */
    public static double rangeScore(long tokens, long min, long max) {
        if (tokens >= min && tokens <= max) {
            long width = max - min;
            if (width == 0) {
                return 1.0;
            }
            double narrowness = 1.0 / (1.0 + width / 10_000.0);
            double headroom = (double) (max - tokens) / width;
            return OUT_OF_RANGE_CEILING + (0.7 * narrowness + 0.3 * headroom) * (1.0 - OUT_OF_RANGE_CEILING);
        }
        long distance = tokens > max ? tokens - max : min - tokens;
        return OUT_OF_RANGE_CEILING / (1.0 + distance / 1000.0);
    }

    private long[] range(Endpoint e, String value) {
        long[] r = parseRange(value);
        if (r == null) {
            badLabel.warn("{}: endpoint {} has label {}=\"{}\", not \"min-max\"; it scores 0 and is filtered out",
                    name(), e.info().name(), label, value);
        }
        return r;
    }

    /** {@code "min-max"} with non-negative integers and min ≤ max, or null. */
    static long[] parseRange(String value) {
        int dash = value.indexOf('-');
        if (dash <= 0 || value.indexOf('-', dash + 1) >= 0) {
            return null;
        }
        try {
            long min = Long.parseLong(value.substring(0, dash).trim());
            long max = Long.parseLong(value.substring(dash + 1).trim());
            return min <= max ? new long[] {min, max} : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
