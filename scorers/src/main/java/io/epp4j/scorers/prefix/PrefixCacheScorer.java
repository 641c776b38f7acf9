package io.epp4j.scorers.prefix;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code prefix-cache-scorer}: {@code matchedBlocks / totalBlocks} from the {@code approx-prefix-cache-producer}'s
 * match, or, with {@code prefixMatchInfoProducerName}, from the {@link PrefixMatchInfo} that producer left (llm-d's
 * precise chain: {@code precise-prefix-cache-producer}); 0 everywhere when the prompt is shorter than one block or no
 * producer ran.
 */
public final class PrefixCacheScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "prefix-cache-scorer";

    private final String producerName;

    public PrefixCacheScorer(String name) {
        this(name, new io.epp4j.spi.PluginParameters(java.util.Map.of()));
    }

    public PrefixCacheScorer(String name, io.epp4j.spi.PluginParameters parameters) {
        super(TYPE, name);
        String producer = parameters.getString("prefixMatchInfoProducerName", "");
        this.producerName = producer.isEmpty() ? null : producer;
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        if (producerName != null) {
            PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor(producerName));
            double total = info == null ? 0 : info.totalBlocks();
            for (int i = 0; i < n; i++) {
                scores[i] = total == 0 ? 0.0 : Math.min(1.0, info.matchedBlocks(endpoints.get(i)) / total);
            }
            return;
        }
        PrefixMatch match = state.get(PrefixMatch.KEY);
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
        return producerName != null ? null : ApproxPrefixCacheProducer.TYPE;
    }
}
