package io.epp4j.scorers.llmd;

import io.epp4j.scorers.contextlength.ContextLengthAware;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.info;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContextLengthAwareTest {

    static Endpoint pod(int i, String range, int queue) {
        return new Endpoint(info(i, range == null ? Map.of() : Map.of(ContextLengthAware.DEFAULT_LABEL, range)),
                io.epp4j.scorers.Fixtures.endpoint(i, queue, 0, 0).metrics(), 0, 0);
    }

    /** A prompt of about {@code tokens} tokens (4 bytes a token). */
    static String prompt(int tokens) {
        return "x".repeat(tokens * 4);
    }

    final ContextLengthAware scorer = new ContextLengthAware(null, PluginParameters.EMPTY);
    final List<Endpoint> pool = List.of(pod(1, "0-2048", 3), pod(2, "2048-8192", 0), pod(3, null, 0));

    String route(ContextLengthAware plugin, int tokens) {
        return Routing.pick(new CycleState(), request(prompt(tokens)), pool, List.of(plugin),
                Map.of(plugin, 3.0, new QueueScorer(null), 1.0));
    }

    @Test
    void shortPromptsGoToTheShortContextPodAndLongOnesToTheLongContextPod() {
        assertEquals("pod-1", route(scorer, 500));
        assertEquals("pod-2", route(scorer, 6000));
    }

    @Test
    void aRequestBeyondEveryRangePrefersTheNearestOne() {
        double[] s = new double[3];
        scorer.score(new CycleState(), request(prompt(9000)), pool, s);
        assertTrue(s[1] > s[0], "8192 is nearer to 9000 than 2048");
        assertTrue(s[1] < 0.3 && s[0] < 0.3);
        assertEquals(0.5, s[2], "an unlabelled pod is neutral");
    }

    @Test
    void filteringDropsLabelledPodsWhoseRangeMissesButKeepsUnlabelledOnes() {
        ContextLengthAware filtering = new ContextLengthAware(null,
                new PluginParameters(Map.of("enableFiltering", true)));
        assertEquals(List.of("pod-2", "pod-3"),
                Routing.pods(filtering.filter(new CycleState(), request(prompt(6000)), pool)));
        assertEquals(pool, scorer.filter(new CycleState(), request(prompt(6000)), pool), "off by default");
    }

    @Test
    void aMalformedRangeScoresZeroAndIsFilteredOut() {
        ContextLengthAware filtering = new ContextLengthAware(null,
                new PluginParameters(Map.of("enableFiltering", true, "label", "ctx")));
        Endpoint bad = new Endpoint(info(4, Map.of("ctx", "big")), pool.get(0).metrics(), 0, 0);
        double[] s = new double[1];
        filtering.score(new CycleState(), request("p"), List.of(bad), s);
        assertEquals(0.0, s[0]);
        assertEquals(List.of(), filtering.filter(new CycleState(), request("p"), List.of(bad)));
    }

    @ParameterizedTest(name = "{0} tokens in [{1},{2}] scores {3}")
    @CsvSource({
        "100, 100, 100, 1.0",        // exact fit
        "0, 0, 10000, 0.755",        // in range: 0.3 + 0.7 × (0.7 × 0.5 + 0.3 × 1)
        "10000, 0, 10000, 0.545",    // at the top: no headroom
        "3000, 0, 2000, 0.15",       // 1000 over: 0.3 / 2
        "0, 1000, 2000, 0.15",       // 1000 under
    })
    void scoreCurveMatchesLlmd(long tokens, long min, long max, double expected) {
        assertEquals(expected, ContextLengthAware.rangeScore(tokens, min, max), 1e-9);
    }
}
