package io.epp4j.scorers.prefix;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * {@code prefix-cache-affinity-filter} (llm-d): keeps only the "sticky" endpoints, those holding at least
 * {@code affinityThreshold} of the request's prefix blocks, so the scorers and picker after it choose among
 * cache-warm endpoints only. It keeps everyone when:
 * <ul>
 *   <li>there is at most one candidate, or {@code affinityThreshold} is 0;</li>
 *   <li>with probability {@code explorationProbability} (exploration: other endpoints get to warm up);</li>
 *   <li>no endpoint is sticky;</li>
 *   <li>the TTFT load gate breaks: the best sticky endpoint's estimated time to first token exceeds the best
 *       other endpoint's by more than {@code maxTTFTPenaltyMs} (0 = always stick). The estimate is the endpoint's
 *       in-flight tokens (this EPP's own count) over {@code peakPrefillThroughput} tokens a second.</li>
 * </ul>
 * The prefix share comes from the {@code approx-prefix-cache-producer}'s match, or from the {@link PrefixMatchInfo}
 * of the producer named by {@code prefixMatchInfoProducerName}. Each call counts one outcome in
 * {@code llm_d_epp_prefix_cache_affinity_filter_decisions_total}. Thread-safe.
 */
public final class PrefixCacheAffinityFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "prefix-cache-affinity-filter";
    /** llm-d's default: Qwen 32B on 2x H100 (TP=2), tokens a second. */
    public static final double DEFAULT_PEAK_PREFILL_THROUGHPUT = 15_928;

    private static final Logger LOG = LoggerFactory.getLogger(PrefixCacheAffinityFilter.class);
    private static final Set<String> PARAMETERS = Set.of("affinityThreshold", "explorationProbability",
            "maxTTFTPenaltyMs", "ttftSource", "peakPrefillThroughput", "prefillCalibrationFile",
            "prefillCalibrationFingerprint", "prefillCalibrationRequired", "prefixMatchInfoProducerName",
            "latencyPredictionInfoProducerName", "inFlightLoadProducerName");

    /** The outcome of one call, as llm-d labels it. */
    enum Outcome {
        STICKY("sticky"), NO_MATCH("no_match"), LOAD_OVERRIDE("load_override"), EXPLORATION("exploration"),
        NOT_APPLICABLE("not_applicable");

        final String label;

        Outcome(String label) {
            this.label = label;
        }
    }

    private final double affinityThreshold;
    private final double explorationProbability;
    private final double maxTtftPenaltyMs;
    private final double peakPrefillThroughput;
    private final String producerName;
    private final DoubleSupplier random;
    private final PluginMetrics.Counter decisions;

    /** @param random uniform doubles in [0, 1), called from any thread */
    public PrefixCacheAffinityFilter(String name, PluginParameters parameters, DoubleSupplier random,
                                     PluginMetrics metrics) {
        super(TYPE, name);
        for (String key : parameters.asMap().keySet()) {
            if (!PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("unknown parameter '" + key + "' (allowed: "
                        + String.join(", ", new java.util.TreeSet<>(PARAMETERS)) + ")");
            }
        }
        this.affinityThreshold = parameters.getDouble("affinityThreshold", 0.80);
        this.explorationProbability = parameters.getDouble("explorationProbability", 0);
        this.maxTtftPenaltyMs = parameters.getDouble("maxTTFTPenaltyMs", 18_000);
        String source = parameters.getString("ttftSource", "prefillThroughput");
        boolean explicitThroughput = parameters.has("peakPrefillThroughput");
        this.peakPrefillThroughput = parameters.getDouble("peakPrefillThroughput", DEFAULT_PEAK_PREFILL_THROUGHPUT);
        if (!(affinityThreshold >= 0 && affinityThreshold <= 1)) {
            throw new IllegalArgumentException("parameter 'affinityThreshold' must be in [0, 1], got "
                    + affinityThreshold);
        }
        if (!(explorationProbability >= 0 && explorationProbability <= 1)) {
            throw new IllegalArgumentException("parameter 'explorationProbability' must be in [0, 1], got "
                    + explorationProbability);
        }
        if (!(maxTtftPenaltyMs >= 0)) {
            throw new IllegalArgumentException("parameter 'maxTTFTPenaltyMs' must be >= 0, got " + maxTtftPenaltyMs);
        }
        if (!(peakPrefillThroughput >= 0)) {
            throw new IllegalArgumentException("parameter 'peakPrefillThroughput' must be >= 0, got "
                    + peakPrefillThroughput);
        }
        if (source.equals("latencyPredictor")) {
            throw new IllegalArgumentException("parameter 'ttftSource' latencyPredictor needs llm-d's latency"
                    + " predictor, which epp4j does not have; use prefillThroughput");
        }
        if (!source.equals("prefillThroughput")) {
            throw new IllegalArgumentException("parameter 'ttftSource' must be prefillThroughput or"
                    + " latencyPredictor, got '" + source + "'");
        }
        if (maxTtftPenaltyMs > 0 && peakPrefillThroughput == 0) {
            throw new IllegalArgumentException("parameter 'peakPrefillThroughput' must be > 0 when"
                    + " 'maxTTFTPenaltyMs' is > 0");
        }
        if (!explicitThroughput && parameters.has("prefillCalibrationFile")) {
            // llm-d's calibration record: applying it would need the record format and the deployment fingerprint
            // check; without it llm-d falls back to the default, or fails when the calibration is required
            if (parameters.getBoolean("prefillCalibrationRequired", false)) {
                throw new IllegalArgumentException("parameter 'prefillCalibrationFile' is not read by epp4j and"
                        + " 'prefillCalibrationRequired' is true; set 'peakPrefillThroughput' instead");
            }
            LOG.warn("{}: prefillCalibrationFile is accepted but not read; peakPrefillThroughput stays {} tokens/s",
                    name(), peakPrefillThroughput);
        }
        String producer = parameters.getString("prefixMatchInfoProducerName", "");
        this.producerName = producer.isEmpty() ? null : producer;
        this.random = random;
        this.decisions = metrics.counter("llm_d_epp_prefix_cache_affinity_filter_decisions_total",
                "Prefix cache affinity filter decisions, by outcome", "plugin_name", "outcome");
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        if (endpoints.size() <= 1 || affinityThreshold <= 0) {
            return decided(Outcome.NOT_APPLICABLE, endpoints);
        }
        if (explorationProbability > 0 && random.getAsDouble() < explorationProbability) {
            return decided(Outcome.EXPLORATION, endpoints);
        }
        List<Endpoint> sticky = new ArrayList<>();
        long bestStickyTokens = Long.MAX_VALUE;
        long bestOtherTokens = Long.MAX_VALUE;
        PrefixShare share = share(state);
        for (Endpoint e : endpoints) {
            long tokens = Math.max(0, e.inFlightTokens());
            if (share.of(e) >= affinityThreshold) {
                sticky.add(e);
                bestStickyTokens = Math.min(bestStickyTokens, tokens);
            } else {
                bestOtherTokens = Math.min(bestOtherTokens, tokens);
            }
        }
        if (sticky.isEmpty()) {
            return decided(Outcome.NO_MATCH, endpoints);
        }
        if (maxTtftPenaltyMs > 0 && sticky.size() < endpoints.size()
                && ttftMs(bestStickyTokens) - ttftMs(bestOtherTokens) > maxTtftPenaltyMs) {
            return decided(Outcome.LOAD_OVERRIDE, endpoints);
        }
        return decided(Outcome.STICKY, sticky);
    }

    /** Estimated time to first token behind {@code inFlightTokens}, in milliseconds. */
    double ttftMs(long inFlightTokens) {
        return inFlightTokens / peakPrefillThroughput * 1000;
    }

    private List<Endpoint> decided(Outcome outcome, List<Endpoint> kept) {
        decisions.inc(name(), outcome.label);
        return kept;
    }

    /** The share of the request's blocks one endpoint holds. */
    private interface PrefixShare {
        double of(Endpoint endpoint);
    }

    private PrefixShare share(CycleState state) {
        if (producerName != null) {
            PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor(producerName));
            if (info == null || info.totalBlocks() == 0) {
                return e -> 0.0;
            }
            double total = info.totalBlocks();
            return e -> info.matchedBlocks(e) / total;
        }
        PrefixMatch match = state.get(PrefixMatch.KEY);
        if (match == null || match.blockCount() == 0) {
            return e -> 0.0;
        }
        double total = match.blockCount();
        return e -> match.matchedBlocks(e) / total;
    }

    @Override
    public String requiredProducerType() {
        return producerName != null ? null : ApproxPrefixCacheProducer.TYPE;
    }
}
