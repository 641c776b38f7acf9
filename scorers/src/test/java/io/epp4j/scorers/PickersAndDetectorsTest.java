package io.epp4j.scorers;

import io.epp4j.scorers.picker.MaxScorePicker;
import io.epp4j.scorers.picker.RandomPicker;
import io.epp4j.scorers.picker.WeightedRandomPicker;
import io.epp4j.scorers.saturation.ConcurrencyDetector;
import io.epp4j.scorers.saturation.UtilizationDetector;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static io.epp4j.scorers.Fixtures.CLOCK;
import static io.epp4j.scorers.Fixtures.NOW;
import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PickersAndDetectorsTest {

    final List<Endpoint> four = List.of(endpoint(0, 0, 0, 0), endpoint(1, 0, 0, 0), endpoint(2, 0, 0, 0),
            endpoint(3, 0, 0, 0));

    @Test
    void maxScorePickerTakesTheBestAndBreaksTiesUniformly() {
        MaxScorePicker picker = new MaxScorePicker(null, PluginParameters.EMPTY, new Random(7));
        assertEquals(List.of(four.get(2)), picker.pick(new CycleState(), request("p"), four,
                new double[] {0.1, 0.5, 0.9, 0.3}));
        Map<Endpoint, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            counts.merge(picker.pick(new CycleState(), request("p"), four, new double[] {1, 0, 1, 1}).get(0), 1,
                    Integer::sum);
        }
        assertEquals(Set.of(four.get(0), four.get(2), four.get(3)), counts.keySet());
        counts.values().forEach(c -> assertTrue(c > 800 && c < 1200, "tie share " + c));
    }

    @Test
    void maxScorePickerReturnsTopNBestFirst() {
        MaxScorePicker picker = new MaxScorePicker(null, new PluginParameters(Map.of("maxNumOfEndpoints", 2L)),
                new Random(7));
        assertEquals(List.of(four.get(3), four.get(1)), picker.pick(new CycleState(), request("p"), four,
                new double[] {0.1, 0.5, 0.2, 0.9}));
    }

    @Test
    void randomPickerIgnoresScores() {
        RandomPicker picker = new RandomPicker(null, new PluginParameters(Map.of("maxNumOfEndpoints", 0L)),
                new Random(3));
        Set<Endpoint> seen = new java.util.HashSet<>();
        for (int i = 0; i < 200; i++) {
            List<Endpoint> p = picker.pick(new CycleState(), request("p"), four, new double[] {1, 0, 0, 0});
            assertEquals(1, p.size());
            seen.add(p.get(0));
        }
        assertEquals(4, seen.size());
    }

    @Test
    void weightedRandomPickerFollowsScoresAndNeverPicksZero() {
        WeightedRandomPicker picker = new WeightedRandomPicker(null, PluginParameters.EMPTY, new Random(11));
        Map<Endpoint, Integer> counts = new HashMap<>();
        for (int i = 0; i < 4000; i++) {
            counts.merge(picker.pick(new CycleState(), request("p"), four, new double[] {3, 1, 0, 0}).get(0), 1,
                    Integer::sum);
        }
        assertEquals(Set.of(four.get(0), four.get(1)), counts.keySet());
        double share = counts.get(four.get(0)) / 4000.0;
        assertTrue(share > 0.70 && share < 0.80, "share " + share);
        // all zero ⇒ uniform
        assertEquals(1, picker.pick(new CycleState(), request("p"), four, new double[4]).size());
    }

    static Endpoint m(int queue, double kv, long ageMillis) {
        return endpoint(0, new EndpointMetrics(queue, 0, kv, Set.of(), Set.of(), 0, 16, 1, Double.NaN,
                NOW - ageMillis));
    }

    @Test
    void utilizationDetectorAveragesWorstRatioAndCountsStaleAsSaturated() {
        UtilizationDetector d = new UtilizationDetector(null, PluginParameters.EMPTY, CLOCK);
        assertEquals(1.0, d.saturation(List.of()), 1e-9);
        // max(2/5, 0.4/0.8) = 0.5 ; max(5/5, 0.2/0.8) = 1.0 ; stale ⇒ 1.0
        assertEquals(0.5, d.saturation(List.of(m(2, 0.4, 0))), 1e-9);
        assertEquals(0.75, d.saturation(List.of(m(2, 0.4, 0), m(5, 0.2, 50))), 1e-9);
        assertEquals(1.0, d.saturation(List.of(m(0, 0.0, 500))), 1e-9);
        assertEquals(1.0, d.saturation(List.of(endpoint(0, EndpointMetrics.UNKNOWN))), 1e-9);
    }

    @Test
    void utilizationDetectorAsFilterKeepsHealthyOrEverything() {
        UtilizationDetector d = new UtilizationDetector(null, new PluginParameters(Map.of("headroom", 0.2)), CLOCK);
        Endpoint ok = m(5, 0.5, 0);       // 5 < 6
        Endpoint full = m(6, 0.5, 0);     // 6 !< 6
        Endpoint stale = m(0, 0.0, 1000);
        assertEquals(List.of(ok), d.filter(new CycleState(), request("p"), List.of(ok, full, stale)));
        assertEquals(List.of(full, stale), d.filter(new CycleState(), request("p"), List.of(full, stale)));
    }

    @Test
    void concurrencyDetectorComparesInFlightWithCapacity() {
        ConcurrencyDetector d = new ConcurrencyDetector(null, new PluginParameters(Map.of("maxConcurrency", 10L)));
        Endpoint a = withLoad(endpoint(0, 0, 0, 0), 10, 0);
        Endpoint b = withLoad(endpoint(1, 0, 0, 0), 5, 0);
        assertEquals(0.75, d.saturation(List.of(a, b)), 1e-9);
        assertEquals(List.of(b), d.filter(new CycleState(), request("p"), List.of(a, b)));
    }
}
