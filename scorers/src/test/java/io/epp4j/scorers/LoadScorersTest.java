package io.epp4j.scorers;

import io.epp4j.scorers.load.ActiveRequestScorer;
import io.epp4j.scorers.load.KvCacheUtilizationScorer;
import io.epp4j.scorers.load.LoadAwareScorer;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.scorers.load.RunningRequestsSizeScorer;
import io.epp4j.scorers.load.TokenLoadScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LoadScorersTest {

    static double[] score(Scorer scorer, List<Endpoint> endpoints) {
        double[] scores = new double[endpoints.size()];
        scorer.score(new CycleState(), request("hi"), endpoints, scores);
        return scores;
    }

    static List<Endpoint> queues(int... q) {
        List<Endpoint> out = new ArrayList<>();
        for (int i = 0; i < q.length; i++) {
            out.add(endpoint(i, q[i], 0, 0.0));
        }
        return out;
    }

    static Stream<Arguments> queueTable() {
        return Stream.of(
                Arguments.of(new int[] {0, 5, 10}, new double[] {1.0, 0.5, 0.0}),
                Arguments.of(new int[] {3, 3, 3}, new double[] {1.0, 1.0, 1.0}),
                Arguments.of(new int[] {2, 6}, new double[] {1.0, 0.0}),
                Arguments.of(new int[] {-1, 4}, new double[] {1.0, 0.0}),
                Arguments.of(new int[] {7}, new double[] {1.0}));
    }

    @ParameterizedTest
    @MethodSource("queueTable")
    void queueScorerIsMinMaxOfWaitingQueue(int[] queue, double[] expected) {
        assertArrayEquals(expected, score(new QueueScorer(null), queues(queue)), 1e-9);
    }

    @Test
    void runningRequestsScorerIsMinMaxOfRunningBatch() {
        List<Endpoint> eps = List.of(endpoint(0, 0, 4, 0), endpoint(1, 0, 8, 0), endpoint(2, 0, 6, 0));
        assertArrayEquals(new double[] {1.0, 0.0, 0.5}, score(new RunningRequestsSizeScorer(null), eps), 1e-9);
    }

    static Stream<Arguments> kvTable() {
        return Stream.of(Arguments.of(0.0, 1.0), Arguments.of(0.25, 0.75), Arguments.of(1.0, 0.0),
                Arguments.of(Double.NaN, 1.0));
    }

    @ParameterizedTest
    @MethodSource("kvTable")
    void kvCacheScorerIsOneMinusUsage(double usage, double expected) {
        assertArrayEquals(new double[] {expected},
                score(new KvCacheUtilizationScorer(null), List.of(endpoint(0, 0, 0, usage))), 1e-9);
    }

    static Stream<Arguments> tokenLoadTable() {
        return Stream.of(Arguments.of(0L, 1.0), Arguments.of(1000L, 0.5), Arguments.of(2000L, 0.0),
                Arguments.of(5000L, 0.0));
    }

    @ParameterizedTest
    @MethodSource("tokenLoadTable")
    void tokenLoadScorerFallsLinearlyToThreshold(long tokens, double expected) {
        TokenLoadScorer scorer = new TokenLoadScorer(null,
                new PluginParameters(Map.of("queueThresholdTokens", 2000L)));
        assertArrayEquals(new double[] {expected},
                score(scorer, List.of(withLoad(endpoint(0, 0, 0, 0), 1, tokens))), 1e-9);
    }

    @Test
    void tokenLoadScorerRejectsNonPositiveThreshold() {
        assertThrows(IllegalArgumentException.class, () -> new TokenLoadScorer(null,
                new PluginParameters(Map.of("queueThresholdTokens", 0L))));
    }

    @Test
    void activeRequestScorerScalesAgainstBusiestEndpoint() {
        ActiveRequestScorer scorer = new ActiveRequestScorer(null,
                new PluginParameters(Map.of("idleThreshold", 1L, "maxBusyScore", 0.8)));
        List<Endpoint> eps = List.of(withLoad(endpoint(0, 0, 0, 0), 0, 0), withLoad(endpoint(1, 0, 0, 0), 1, 0),
                withLoad(endpoint(2, 0, 0, 0), 2, 0), withLoad(endpoint(3, 0, 0, 0), 4, 0));
        // idle (≤ 1) ⇒ 1.0; otherwise (4 − c)/4 × 0.8
        assertArrayEquals(new double[] {1.0, 1.0, 0.4, 0.0}, score(scorer, eps), 1e-9);
    }

    static Stream<Arguments> loadAwareTable() {
        return Stream.of(Arguments.of(0, 0.5), Arguments.of(64, 0.25), Arguments.of(128, 0.0),
                Arguments.of(500, 0.0), Arguments.of(32, 0.375));
    }

    @ParameterizedTest
    @MethodSource("loadAwareTable")
    void loadAwareScorerTopsOutAtHalf(int waiting, double expected) {
        assertArrayEquals(new double[] {expected},
                score(new LoadAwareScorer(null, PluginParameters.EMPTY), queues(waiting)), 1e-9);
    }
}
