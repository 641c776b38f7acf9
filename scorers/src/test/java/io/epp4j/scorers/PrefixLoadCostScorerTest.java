package io.epp4j.scorers;

import io.epp4j.scorers.cost.PrefixLoadCostScorer;
import io.epp4j.scorers.prefix.PrefixIndex;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixLoadCostScorerTest {

    private static final String PROMPT_4000_TOKENS = "x".repeat(16_000);

    /** A match where endpoint i holds {@code matched[i]} of {@code total} blocks. */
    static CycleState matchState(List<Endpoint> endpoints, int total, int... matched) {
        PrefixIndex index = new PrefixIndex();
        long[] hashes = new long[total];
        for (int b = 0; b < total; b++) {
            hashes[b] = 1000 + b;
        }
        for (int i = 0; i < endpoints.size(); i++) {
            if (matched[i] > 0) {
                index.add(endpoints.get(i).info().name(), hashes, matched[i], 10_000);
            }
        }
        CycleState state = new CycleState();
        state.put(PrefixMatch.KEY, new PrefixMatch(hashes, total, index.match(hashes, total), index));
        return state;
    }

    static double[] score(CycleState state, List<Endpoint> endpoints) {
        double[] scores = new double[endpoints.size()];
        new PrefixLoadCostScorer(null, PluginParameters.EMPTY)
                .score(state, request(PROMPT_4000_TOKENS), endpoints, scores);
        return scores;
    }

    @Test
    void withoutPrefixInformationPrefersTheLeastLoadedEndpoint() {
        List<Endpoint> endpoints = List.of(endpoint(0, 3, 1, 0.1), endpoint(1, 0, 1, 0.1), endpoint(2, 1, 1, 0.1));
        double[] scores = score(new CycleState(), endpoints);
        // outstanding = running + waiting: 4, 1, 2 → costs ∝ 5, 2, 3
        assertArrayEquals(new double[] {2.0 / 5, 1.0, 2.0 / 3}, scores, 1e-9);
    }

    @Test
    void prefersTheEndpointHoldingThePrefixWhenLoadIsEqual() {
        List<Endpoint> endpoints = List.of(endpoint(0, 0, 2, 0.1), endpoint(1, 0, 2, 0.1));
        double[] scores = score(matchState(endpoints, 10, 0, 9), endpoints);
        assertEquals(1.0, scores[1], 1e-9);
        // uncached 4000 + floor 128 vs 400 + 128
        assertEquals((400.0 + 128) / (4000 + 128), scores[0], 1e-9);
    }

    @Test
    void movesAwayFromACachedButOverloadedEndpoint() {
        Endpoint cachedBusy = endpoint(0, 12, 8, 0.9);
        Endpoint coldIdle = endpoint(1, 0, 0, 0.1);
        List<Endpoint> endpoints = List.of(cachedBusy, coldIdle);
        double[] scores = score(matchState(endpoints, 10, 10, 0), endpoints);
        // cached: (0 + 128) × 21 = 2688; cold: (4000 + 128) × 1 = 4128 → still the cached one
        assertTrue(scores[0] > scores[1]);
        Endpoint cachedSwamped = endpoint(0, 30, 16, 0.95);
        List<Endpoint> swamped = List.of(cachedSwamped, coldIdle);
        double[] after = score(matchState(swamped, 10, 10, 0), swamped);
        // cached: 128 × 47 = 6016 > 4128 → the idle endpoint wins
        assertTrue(after[1] > after[0]);
    }

    @Test
    void theEppsOwnInFlightCountOverridesStaleScrapedLoad() {
        // both scraped idle, but the EPP just sent 5 requests to endpoint 0
        List<Endpoint> endpoints = List.of(withLoad(endpoint(0, 0, 0, 0.0), 5, 20_000), endpoint(1, 0, 0, 0.0));
        double[] scores = score(new CycleState(), endpoints);
        assertArrayEquals(new double[] {1.0 / 6, 1.0}, scores, 1e-9);
    }

    @Test
    void unknownMetricsCountAsIdle() {
        List<Endpoint> endpoints = List.of(endpoint(0, -1, -1, Double.NaN), endpoint(1, 2, 0, 0.0));
        assertArrayEquals(new double[] {1.0, 1.0 / 3}, score(new CycleState(), endpoints), 1e-9);
    }

    @Test
    void rejectsANonPositiveFloor() {
        assertThrows(IllegalArgumentException.class,
                () -> new PrefixLoadCostScorer("c", new PluginParameters(Map.of("decodeTokenFloor", 0))));
    }
}
