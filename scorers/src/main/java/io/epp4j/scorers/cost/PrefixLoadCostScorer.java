package io.epp4j.scorers.cost;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.List;

/**
 * {@code prefix-load-cost-scorer} (epp4j): weighs cache affinity against load in one cost, instead of adding a
 * prefix score to a load score with hand-tuned weights.
 *
 * <p>For each endpoint the cost of serving the request there is estimated as
 * {@code (uncachedPromptTokens + decodeTokenFloor) × (outstandingRequests + 1)}: the prefill work this request
 * would add, times how many requests share the engine's batch with it (the LMetric idea: prefill time grows with
 * the new tokens, every step slows down with the batch). {@code uncachedPromptTokens} comes from the
 * {@code approx-prefix-cache-producer}'s match (the whole prompt when no producer ran); {@code outstandingRequests}
 * is the larger of the EPP's own in-flight count (exact and immediate) and the scraped running + waiting requests
 * (which also sees traffic from other EPP replicas, but is up to one scrape old). The floor keeps a full prefix
 * hit from making load irrelevant. The score is {@code minCost / cost}: 1.0 for the cheapest endpoint.
 *
 * <p>Parameter {@code decodeTokenFloor} (default 128) — tokens of work a request costs even when its whole
 * prompt is cached. Stateless and thread-safe.
 */
public final class PrefixLoadCostScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "prefix-load-cost-scorer";

    private final double decodeTokenFloor;

    public PrefixLoadCostScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.decodeTokenFloor = parameters.getDouble("decodeTokenFloor", 128);
        if (!(decodeTokenFloor > 0)) {
            throw new IllegalArgumentException("parameter 'decodeTokenFloor' must be > 0");
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        PrefixMatch match = state.get(PrefixMatch.KEY);
        double promptTokens = request.estimatedPromptTokens();
        double minCost = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(i);
            double cachedFraction = match == null || match.blockCount() == 0
                    ? 0.0 : (double) match.matchedBlocks(e) / match.blockCount();
            double uncached = promptTokens * (1.0 - cachedFraction);
            double cost = (uncached + decodeTokenFloor) * (outstandingRequests(e) + 1);
            scores[i] = cost;
            minCost = Math.min(minCost, cost);
        }
        for (int i = 0; i < n; i++) {
            scores[i] = minCost / scores[i];
        }
    }

    static int outstandingRequests(Endpoint e) {
        int scraped = Math.max(0, e.metrics().runningRequests()) + Math.max(0, e.metrics().waitingQueueSize());
        return Math.max(e.inFlightRequests(), scraped);
    }
}
