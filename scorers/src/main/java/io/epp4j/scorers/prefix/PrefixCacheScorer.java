package io.epp4j.scorers.prefix;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code prefix-cache-scorer}: {@code matchedBlocks / totalBlocks} from the {@code approx-prefix-cache-producer}'s
 * match; 0 everywhere when the prompt is shorter than one block or no producer ran.
 */
public final class PrefixCacheScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "prefix-cache-scorer";

    public PrefixCacheScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        PrefixMatch match = state.get(PrefixMatch.KEY);
        int n = endpoints.size();
        if (match == null || match.blockCount() == 0) {
            java.util.Arrays.fill(scores, 0, n, 0.0);
            return;
        }
        double total = match.blockCount();
        for (int i = 0; i < n; i++) {
            scores[i] = match.matchedBlocks(endpoints.get(i)) / total;
        }
    }

    @Override
    public String requiredProducerType() {
        return ApproxPrefixCacheProducer.TYPE;
    }
}
