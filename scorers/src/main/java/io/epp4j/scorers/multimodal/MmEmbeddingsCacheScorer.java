package io.epp4j.scorers.multimodal;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.Arrays;
import java.util.List;

/**
 * {@code mm-embeddings-cache-scorer} (llm-d): the share of the request's distinct media items that the
 * {@code mm-embeddings-cache-producer} believes each endpoint holds in its encoder cache; 0 for a request without
 * media. No parameters; a producer is created when none is configured.
 */
public final class MmEmbeddingsCacheScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "mm-embeddings-cache-scorer";

    public MmEmbeddingsCacheScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        MmEmbeddingsCacheProducer.Match match = state.get(MmEmbeddingsCacheProducer.DEFAULT);
        int n = endpoints.size();
        if (match == null || match.totalItems() == 0) {
            Arrays.fill(scores, 0, n, 0.0);
            return;
        }
        for (int i = 0; i < n; i++) {
            scores[i] = (double) match.matched(endpoints.get(i)) / match.totalItems();
        }
    }

    @Override
    public String requiredProducerType() {
        return MmEmbeddingsCacheProducer.TYPE;
    }
}
