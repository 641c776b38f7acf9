package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

/**
 * {@code prefix-based-pd-decider}: prefill on a prefill pod when the decode pod would have to compute at least
 * {@code nonCachedTokens} prompt tokens itself. Prompt tokens are estimated at 4 bytes a token; the decode pod's
 * cached tokens are its matched blocks in the {@code approx-prefix-cache-producer}'s index times the block size.
 *
 * <p>Parameters: {@code nonCachedTokens} (0 = never disaggregate), {@code promptTokens} (0 = no gate; otherwise
 * prompts shorter than this stay decode-only). Negative values are rejected. Without the producer's match (it is
 * created when the configuration has none) the answer is decode-only.
 */
public final class PrefixBasedPdDecider extends NamedPlugin implements PdDecider {

    public static final String TYPE = "prefix-based-pd-decider";

    private final long nonCachedTokens;
    private final long promptTokens;

    public PrefixBasedPdDecider(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.nonCachedTokens = parameters.getLong("nonCachedTokens", 0);
        this.promptTokens = parameters.getLong("promptTokens", 0);
        if (nonCachedTokens < 0 || promptTokens < 0) {
            throw new IllegalArgumentException("parameters 'nonCachedTokens' and 'promptTokens' must be >= 0, got "
                    + nonCachedTokens + " and " + promptTokens);
        }
    }

    @Override
    public boolean disaggregate(CycleState state, InferenceRequest request, Endpoint decode) {
        if (nonCachedTokens == 0) {
            return false;
        }
        long n = request.estimatedPromptTokens();
        if ((promptTokens > 0 && n < promptTokens) || n < nonCachedTokens) {
            return false;
        }
        PrefixMatch match = state.get(PrefixMatch.KEY);
        if (match == null) {
            return false;
        }
        long cached = decode == null ? 0 : (long) match.matchedBlocks(decode) * match.blockSizeTokens();
        return n - cached >= nonCachedTokens;
    }

    @Override
    public String requiredProducerType() {
        return ApproxPrefixCacheProducer.TYPE;
    }

    long nonCachedTokens() {
        return nonCachedTokens;
    }
}
