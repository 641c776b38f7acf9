package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.Scorer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code no-hit-lru-scorer} (llm-d): spreads cold requests (no prefix hit anywhere) over the endpoints used least
 * recently for cold requests. Cold: endpoints never used for a cold request score 1.0; the others {@code r/n} where r
 * is their recency rank (0 = most recent) among the n used candidates. Warm requests: 0.5 for everyone. Only cold
 * requests update the LRU. Parameters {@code lruSize} (1024); {@code prefixPluginType}/{@code prefixPluginName}
 * are accepted for compatibility (the match comes from the approximate prefix producer).
 */
public final class NoHitLruScorer extends NamedPlugin implements Scorer, PreRequest {

    public static final String TYPE = "no-hit-lru-scorer";
    private static final CycleState.Key<Boolean> COLD = new CycleState.Key<>("no-hit-lru-cold");

    private final int lruSize;
    private final LinkedHashMap<String, Boolean> lru;

    public NoHitLruScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.lruSize = parameters.getInt("lruSize", 1024);
        if (lruSize <= 0) {
            throw new IllegalArgumentException("parameter 'lruSize' must be > 0");
        }
        this.lru = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > lruSize;
            }
        };
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        PrefixMatch match = state.get(PrefixMatch.KEY);
        boolean cold = match == null || !match.anyHit();
        state.put(COLD, cold);
        int n = endpoints.size();
        if (!cold) {
            java.util.Arrays.fill(scores, 0, n, 0.5);
            return;
        }
        List<String> recentFirst;
        synchronized (lru) {
            recentFirst = new java.util.ArrayList<>(lru.keySet());
        }
        java.util.Collections.reverse(recentFirst);
        Map<String, Integer> rank = new java.util.HashMap<>();
        int used = 0;
        for (String name : recentFirst) {
            for (int i = 0; i < n; i++) {
                if (endpoints.get(i).info().name().equals(name)) {
                    rank.put(name, used++);
                    break;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            Integer r = rank.get(endpoints.get(i).info().name());
            scores[i] = r == null ? 1.0 : (double) r / used;
        }
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        if (Boolean.TRUE.equals(state.get(COLD))) {
            synchronized (lru) {
                lru.put(result.primary().info().name(), Boolean.TRUE);
            }
        }
    }
}
