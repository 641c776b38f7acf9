package io.epp4j.scorers;

import io.epp4j.scorers.admission.ProbabilisticAdmitter;
import io.epp4j.scorers.flowcontrol.PriorityHoldbackPolicy;
import io.epp4j.scorers.flowcontrol.ProgramAwareFairness;
import io.epp4j.scorers.flowcontrol.SoftReflectiveCeilingPolicy;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.FairnessPolicy.QueuedFlow;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ResponseUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llm-d's probabilistic-admitter, program-aware-fairness, soft-reflective-ceiling-policy and priority-holdback-policy.
 */
class LlmdAdmissionAndFlowPoliciesTest {

    private static InferenceRequest request(int priority, String fairnessId) {
        return new InferenceRequest("r", ApiType.COMPLETIONS, "m", "m", ByteSlice.of("hi"), "", false, priority,
                fairnessId, Map.of(), 2);
    }

    private static ProbabilisticAdmitter admitter(double draw) {
        return new ProbabilisticAdmitter("pa", PluginParameters.EMPTY, () -> draw);
    }

    @Test
    void admitterNeverShedsPriorityZeroOrAbove() {
        List<Endpoint> saturated = List.of(Fixtures.endpoint(1, 50, 5, 0.99));
        assertNull(admitter(0.0).denial(request(0, "f"), saturated));
        assertNull(admitter(0.0).denial(request(5, "f"), saturated));
        assertNull(admitter(0.0).denial(request(-1, "f"), List.of()), "no candidates: admitted");
    }

    @Test
    void admitterShedsSheddableRequestsByTheRooflineSaturation() {
        // queue 1/5 = 0.2 vs kv 0.08/0.8 = 0.1: saturation 0.2 -> p = 0.2^5 * 300 = 0.096
        List<Endpoint> light = List.of(Fixtures.endpoint(1, 1, 1, 0.08));
        assertNotNull(admitter(0.05).denial(request(-1, "f"), light), "draw below p: shed");
        assertNull(admitter(0.10).denial(request(-1, "f"), light), "draw above p: admitted");
        // queue 5/5 = 1.0: everything sheddable goes
        List<Endpoint> full = List.of(Fixtures.endpoint(1, 5, 1, 0.1));
        String reason = admitter(0.999).denial(request(-1, "f"), full);
        assertTrue(reason.startsWith("probabilistic-admitter: rejected, saturation=1.000 prob=1.00"), reason);
        // an endpoint without metrics counts as saturated
        List<Endpoint> unknown = List.of(Fixtures.endpoint(1, EndpointMetrics.UNKNOWN));
        assertNotNull(admitter(0.999).denial(request(-1, "f"), unknown));
    }

    @ParameterizedTest
    @CsvSource({"0.1, 0.003", "0.2, 0.096", "0.34, 1.0", "0.5, 1.0"})
    void admitterProbabilityFollowsPowerAndK(double saturation, double expected) {
        assertEquals(expected, admitter(0).sheddingProbability(saturation), 0.001);
    }

    @Test
    void admitterRejectsInvalidParameters() {
        assertThrows(IllegalArgumentException.class, () -> new ProbabilisticAdmitter("pa",
                new PluginParameters(Map.of("k", 0)), () -> 0));
        assertThrows(IllegalArgumentException.class, () -> new ProbabilisticAdmitter("pa",
                new PluginParameters(Map.of("queueDepthThreshold", 0)), () -> 0));
    }

    @Test
    void softReflectiveCeilingKeepsEveryBandOpenUnderLightLoad() {
        SoftReflectiveCeilingPolicy p = new SoftReflectiveCeilingPolicy("s", PluginParameters.EMPTY);
        double[] c = new double[3];
        p.ceilings(0.2, new int[] {10, 0, -10}, c);
        assertArrayEquals(new double[] {1, 1, 1}, c);
        double[] one = new double[1];
        p.ceilings(0.9, new int[] {0}, one);
        assertArrayEquals(new double[] {1}, one, "one band: always its ceiling 1.0");
    }

    @Test
    void softReflectiveCeilingOpensGatedBandsOnceEveryPeriodCalls() {
        SoftReflectiveCeilingPolicy p = new SoftReflectiveCeilingPolicy("s", PluginParameters.EMPTY);
        // saturation 0.75 with 3 bands: band 1's reflective ceiling 0.625, band 2's 0.25, both gated;
        // period round(0.75 / 0.25) = 3
        int open = 0;
        for (int call = 0; call < 30; call++) {
            double[] c = new double[3];
            p.ceilings(0.75, new int[] {10, 0, -10}, c);
            assertEquals(1.0, c[0], "the highest band keeps ceiling 1");
            assertEquals(c[1], c[2], "gated bands open and close together");
            open += c[1] == 1.0 ? 1 : 0;
        }
        assertEquals(10, open, "one call in three");
        double[] c = new double[3];
        p.ceilings(1.0, new int[] {10, 0, -10}, c);
        assertArrayEquals(new double[] {1, 0, 0}, c, "saturated: lower bands closed");
        assertThrows(IllegalArgumentException.class, () -> new SoftReflectiveCeilingPolicy("s",
                new PluginParameters(Map.of("threshold", 1))));
    }

    static double[] holdback(Map<String, Object> parameters, int... priorities) {
        double[] c = new double[priorities.length];
        new PriorityHoldbackPolicy("h", new PluginParameters(parameters)).ceilings(0.5, priorities, c);
        return c;
    }

    @Test
    void priorityHoldbackStepsCeilingsByRankByValueOrAsListed() {
        Map<String, Object> range = Map.of("minCeiling", 0.4, "maxCeiling", 0.9);
        assertArrayEquals(new double[] {0.9, 0.65, 0.4}, holdback(range, 100, 1, 0), 1e-9, "rank ignores values");
        Map<String, Object> byValue = Map.of("minCeiling", 0.4, "maxCeiling", 0.9, "domain", "value");
        assertArrayEquals(new double[] {0.9, 0.405, 0.4}, holdback(byValue, 100, 1, 0), 1e-9,
                "close priorities behave alike");
        assertArrayEquals(new double[] {0.9}, holdback(range, 5), 1e-9, "one priority: maxCeiling");
        assertArrayEquals(new double[] {1.0, 1.0}, holdback(Map.of("minCeiling", 0.2, "domain", "value"), 3, 3), 1e-9,
                "equal values: no spread");
        Map<String, Object> explicit = Map.of("domain", "explicit", "ceilings", Map.of(100L, 0.95, 50L, 0.7,
                "10", 0.3));
        assertArrayEquals(new double[] {0.95, 0.3, 0.0}, holdback(explicit, 100, 10, -1), 1e-9,
                "a priority not listed is always held back");
    }

    @Test
    void priorityHoldbackRejectsWhatLlmdRejectsNamingTheParameter() {
        Map<Map<String, Object>, String> bad = Map.of(
                Map.of(), "'minCeiling' is required",
                Map.of("minCeiling", 1.0), "'minCeiling' must be in [0, 1)",
                Map.of("minCeiling", 0.5, "maxCeiling", 1.5), "'maxCeiling' must be in (0, 1]",
                Map.of("minCeiling", 0.5, "maxCeiling", 0.5), "'minCeiling' (0.5) must be below 'maxCeiling'",
                Map.of("minCeiling", 0.5, "shape", "sigmoid"), "'shape' must be linear",
                Map.of("minCeiling", 0.5, "domain", "ordinal"), "'domain' must be rank, value or explicit",
                Map.of("domain", "explicit"), "'ceilings' is required when domain is explicit",
                Map.of("domain", "explicit", "minCeiling", 0.1, "ceilings", Map.of(1L, 0.5)),
                "'minCeiling' must not be set when domain is explicit",
                Map.of("domain", "explicit", "ceilings", Map.of(10L, 0.5, 1L, 0.8)), "must not rise as priority falls",
                Map.of("minCeiling", 0.5, "ceilings", Map.of(1L, 0.5)), "'ceilings' must not be set");
        bad.forEach((parameters, message) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new PriorityHoldbackPolicy("h", new PluginParameters(parameters)));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
    }

    @Test
    void programAwareFairnessServesTheProgramWithLeastAttainedService() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        ProgramAwareFairness p = new ProgramAwareFairness("paf", PluginParameters.EMPTY, now::get);
        CycleState state = new CycleState();
        p.preRequest(state, request(0, "heavy"), null);
        p.onComplete(state, request(0, "heavy"), null, new ResponseUsage(1000, 500, -1, 1500), true);
        p.preRequest(state, request(0, "light"), null);
        p.onComplete(state, request(0, "light"), null, new ResponseUsage(10, 5, -1, 15), true);
        assertEquals(2000, p.attainedService("heavy"), 1e-9, "prompt + 2 x completion");

        List<QueuedFlow> flows = List.of(new QueuedFlow("heavy", 3, 5_000_000L),
                new QueuedFlow("light", 1, 5_000_000L));
        assertEquals(1, p.pick(0, flows), "least service wins");
        // a cold program (never served) beats both
        assertEquals(2, p.pick(0, List.of(flows.get(0), flows.get(1), new QueuedFlow("new", 1, 5_000_000L))));
        // equal service: the longer-waiting head wins
        assertEquals(1, p.pick(0, List.of(new QueuedFlow("a", 1, 1), new QueuedFlow("b", 1, 9))));

        ProgramAwareFairness reloaded = new ProgramAwareFairness("paf", PluginParameters.EMPTY, now::get);
        assertTrue(reloaded.takeOver(p), "a reload keeps what each program was served");
        assertEquals(2000, reloaded.attainedService("heavy"), 1e-9);
    }

    @Test
    void programAwareServiceDecaysByHalfLifeAndIdleProgramsAreForgotten() {
        AtomicLong now = new AtomicLong(0);
        ProgramAwareFairness p = new ProgramAwareFairness("paf", new PluginParameters(Map.of(
                "lasHalfLifeSeconds", 10, "evictionTtlSeconds", 60, "evictionSweepSeconds", 5)), now::get);
        p.onComplete(new CycleState(), request(0, "a"), null, new ResponseUsage(100, 0, -1, 100), true);
        now.addAndGet(10_000_000_000L);
        assertEquals(50, p.attainedService("a"), 1e-6, "halved after one half-life");
        now.addAndGet(61_000_000_000L);
        p.pick(0, List.of(new QueuedFlow("b", 1, 0)));
        assertEquals(0, p.programs(), "idle past the TTL: forgotten");
        assertThrows(IllegalArgumentException.class, () -> new ProgramAwareFairness("paf",
                new PluginParameters(Map.of("strategy", "vtc")), now::get));
    }
}
