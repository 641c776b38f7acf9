package io.epp4j.scorers.llmd;

import io.epp4j.scorers.load.TokenLoadScorer;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixCacheAffinityFilter;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.context;
import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static io.epp4j.scorers.Fixtures.withLoad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixCacheAffinityFilterTest {

    /** 64-byte blocks (16 tokens of 4 bytes). */
    final ApproxPrefixCacheProducer producer = new ApproxPrefixCacheProducer(null,
            new PluginParameters(Map.of("autoTune", false, "blockSizeTokens", 16L)), context());

    static String blocks(int n, char c) {
        return String.valueOf(c).repeat(n * 64);
    }

    static PrefixCacheAffinityFilter filter(Map<String, Object> parameters) {
        return new PrefixCacheAffinityFilter(null, new PluginParameters(parameters), () -> {
            throw new AssertionError("no exploration draw expected");
        }, PluginMetrics.NONE);
    }

    /** Routes {@code prompt} to {@code target} so the producer's index learns it there. */
    void served(String prompt, Endpoint target, List<Endpoint> pool) {
        CycleState state = new CycleState();
        producer.produce(state, request(prompt), pool);
        producer.preRequest(state, request(prompt), new SchedulingResult("default", List.of(target)));
    }

    List<Endpoint> filtered(PrefixCacheAffinityFilter filter, String prompt, List<Endpoint> pool) {
        CycleState state = new CycleState();
        InferenceRequest r = request(prompt);
        producer.produce(state, r, pool);
        return filter.filter(state, r, pool);
    }

    @Test
    void narrowsToEndpointsHoldingThePrefixSoTheLeastLoadedWarmOneIsPickedOverAnIdleColdOne() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), withLoad(endpoint(2, 0, 0, 0.1), 3, 6000),
                withLoad(endpoint(3, 0, 0, 0.1), 1, 2000));
        String prompt = blocks(5, 'a');
        served(prompt, pool.get(1), pool);
        served(prompt, pool.get(2), pool);
        PrefixCacheAffinityFilter affinity = filter(Map.of());
        assertEquals(List.of("pod-2", "pod-3"), Routing.pods(filtered(affinity, prompt, pool)));

        CycleState state = new CycleState();
        producer.produce(state, request(prompt), pool);
        String picked = Routing.pick(state, request(prompt), pool, List.of(affinity),
                Map.of(new TokenLoadScorer(null, new PluginParameters(Map.of("queueThresholdTokens", 10_000L))), 1.0));
        assertEquals("pod-3", picked, "token load alone would pick the idle pod-1");
    }

    @Test
    void anEndpointBelowTheAffinityThresholdIsNotSticky() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        served(blocks(3, 'a') + blocks(1, 'b'), pool.get(1), pool);
        String prompt = blocks(3, 'a') + blocks(1, 'c'); // pod-2 holds 3 of its 4 blocks
        assertEquals(pool, filtered(filter(Map.of()), prompt, pool), "0.75 < the default 0.80: everyone stays");
        assertEquals(List.of("pod-2"), Routing.pods(filtered(filter(Map.of("affinityThreshold", 0.7)), prompt, pool)));
    }

    @Test
    void keepsEveryoneWhenNoEndpointHoldsThePromptOrItIsShorterThanABlock() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        served(blocks(2, 'a'), pool.get(0), pool);
        assertEquals(pool, filtered(filter(Map.of()), blocks(2, 'z'), pool));
        assertEquals(pool, filtered(filter(Map.of()), "short", pool));
    }

    @Test
    void breaksStickinessOnlyWhenTheWarmBacklogDelaysTheFirstTokenByMoreThanThePenalty() {
        Map<String, Object> gate = Map.of("maxTTFTPenaltyMs", 1000, "peakPrefillThroughput", 1000);
        String prompt = blocks(4, 'a');
        List<Endpoint> pool = List.of(withLoad(endpoint(1, 0, 0, 0.1), 1, 1900), withLoad(endpoint(2, 0, 0, 0.1), 1,
                1000));
        served(prompt, pool.get(0), pool);
        // 1.9 s against 1.0 s: 900 ms, within the penalty
        assertEquals(List.of("pod-1"), Routing.pods(filtered(filter(gate), prompt, pool)));
        List<Endpoint> hot = List.of(withLoad(pool.get(0), 1, 2100), pool.get(1));
        assertEquals(hot, filtered(filter(gate), prompt, hot), "1.1 s over the best cold pod: everyone again");
        assertEquals(List.of("pod-1"), Routing.pods(filtered(filter(Map.of("maxTTFTPenaltyMs", 0)), prompt, hot)),
                "0 = always stick");
    }

    @Test
    void explorationSkipsTheGateWithItsProbability() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        String prompt = blocks(2, 'a');
        served(prompt, pool.get(0), pool);
        double[] draw = {0.3};
        PrefixCacheAffinityFilter exploring = new PrefixCacheAffinityFilter(null, new PluginParameters(Map.of(
                "explorationProbability", 0.25)), () -> draw[0], PluginMetrics.NONE);
        assertEquals(List.of("pod-1"), Routing.pods(filtered(exploring, prompt, pool)));
        draw[0] = 0.2;
        assertEquals(pool, filtered(exploring, prompt, pool));
    }

    @Test
    void readsTheMatchOfTheProducerItNames() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        CycleState state = new CycleState();
        state.put(PrefixMatchInfo.keyFor("precise"), new PrefixMatchInfo() {
            @Override
            public int totalBlocks() {
                return 10;
            }

            @Override
            public double matchedBlocks(Endpoint e) {
                return e.info().podName().equals("pod-2") ? 9 : 2;
            }
        });
        PrefixCacheAffinityFilter precise = filter(Map.of("prefixMatchInfoProducerName", "precise"));
        assertEquals(List.of("pod-2"), Routing.pods(precise.filter(state, request("p"), pool)));
        assertEquals(null, precise.requiredProducerType(), "no approximate producer is added for it");
    }

    @Test
    void countsEachDecisionByOutcome() {
        Map<String, Integer> counted = new HashMap<>();
        PluginMetrics metrics = new PluginMetrics() {
            @Override
            public Counter counter(String name, String help, String... labels) {
                assertEquals("llm_d_epp_prefix_cache_affinity_filter_decisions_total", name);
                return values -> counted.merge(String.join("/", values), 1, Integer::sum);
            }

            @Override
            public void gauge(String name, String help, java.util.function.DoubleSupplier value) {
            }

            @Override
            public Histogram histogram(String name, String help, double[] buckets, String... labels) {
                return (v, l) -> { };
            }
        };
        PrefixCacheAffinityFilter counting = new PrefixCacheAffinityFilter("gate", PluginParameters.EMPTY, () -> 0.5,
                metrics);
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0.1), endpoint(2, 0, 0, 0.1));
        served(blocks(2, 'a'), pool.get(0), pool);
        filtered(counting, blocks(2, 'a'), pool);
        filtered(counting, blocks(2, 'b'), pool);
        filtered(counting, blocks(2, 'a'), pool.subList(0, 1));
        assertEquals(Map.of("gate/sticky", 1, "gate/no_match", 1, "gate/not_applicable", 1), counted);
    }

    @Test
    void rejectsParametersLlmdRejectsNamingTheField() {
        Map<Map<String, Object>, String> bad = Map.of(
                Map.of("affinityThreshold", 1.5), "'affinityThreshold' must be in [0, 1]",
                Map.of("explorationProbability", -0.1), "'explorationProbability' must be in [0, 1]",
                Map.of("maxTTFTPenaltyMs", -1), "'maxTTFTPenaltyMs' must be >= 0",
                Map.of("peakPrefillThroughput", 0), "'peakPrefillThroughput' must be > 0",
                Map.of("ttftSource", "latencyPredictor"), "'ttftSource' latencyPredictor needs",
                Map.of("ttftSource", "guess"), "'ttftSource' must be",
                Map.of("affinityTreshold", 0.9), "unknown parameter 'affinityTreshold'",
                Map.of("prefillCalibrationFile", "/etc/cal.json", "prefillCalibrationRequired", true),
                "'prefillCalibrationFile' is not read");
        bad.forEach((parameters, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> filter(parameters));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
        filter(Map.of("peakPrefillThroughput", 0, "maxTTFTPenaltyMs", 0)); // no gate, no throughput needed
        filter(Map.of("prefillCalibrationFile", "/etc/cal.json")); // falls back to the default, with a warning
    }
}
