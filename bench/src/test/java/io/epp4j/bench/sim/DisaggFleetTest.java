package io.epp4j.bench.sim;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * P/D in the fleet simulation: a decode pod's sidecar sends the prompt to the prefill pod the router named, pulls
 * its KV, and decodes; a prefill pod that hangs, or one the fleet does not have, leaves the request decode-only.
 */
class DisaggFleetTest {

    /** 10 ms a step plus 0.01 ms a token, no attention terms, 1,000 tokens a step, no jitter. */
    private static final StepProfile ROUND = new StepProfile("round", 10, 0.01, 0, 0, 1000, 8, 1000, 50, 1, 0.001);
    /** 2,000 bytes a token over 1 GB/s (2 µs a token) plus 1 ms; a 100 ms prefill timeout. */
    private static final KvTransfer LINK = new KvTransfer(2000, 1, 1, 0, 100);

    private static final SimConfig POD = SimConfig.stepDefaults("base", ROUND).withCapacity(8, 10, 10_000);

    static String prompt(char c, int tokens) {
        return String.valueOf(c).repeat(tokens * SimConfig.CHARS_PER_TOKEN);
    }

    /** Sends every request to decode pod {@code decode}, naming {@code prefill} for those at or over 100 tokens. */
    record PdRouter(int decode, int prefill) implements FleetSimulation.Router {
        static final int[] PROMPTS = new int[16];

        @Override
        public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
            PROMPTS[index] = EngineCore.promptTokens(arrival.prompt());
            return decode;
        }

        @Override
        public int prefillPod(int index) {
            return PROMPTS[index] >= 100 ? prefill : NO_PREFILL;
        }
    }

    @Test
    void prefillPodComputesThePromptAndTheDecodePodPullsItsKvBeforeDecoding() {
        FleetSimulation.Run run = FleetSimulation.run(List.of(new FleetSimulation.Arrival(0, "base",
                prompt('a', 500), 3)), List.of(POD, POD), null, new PdRouter(1, 0), LINK);
        FleetSimulation.Outcome o = run.outcomes().get(0);
        assertEquals(200, o.status());
        assertEquals(1, o.pod(), "the decode pod answers");
        // prefill 10 + 0.01 x 500 = 15 ms; KV of 500 tokens 1 + 500 x 0.002 = 2 ms; one token on D 10.01 ms
        assertEquals(27.01, o.ttftMs(), 1e-6);
        assertEquals(3, o.outputTokens());
        assertEquals(1, run.pd().disaggregated());
        assertEquals(500, run.pd().transferredTokens());
        assertEquals(0, run.pd().fallbacks());
        assertEquals(2.0, run.pd().transferMsTotal(), 1e-9);
        assertEquals(List.of(10.01, 10.01), Arrays.stream(run.tokenGapsMs()).boxed().toList());
    }

    @Test
    void bothPodsKeepThePromptCachedSoTheNextTransferIsOnlyWhatTheDecodePodLacks() {
        String shared = prompt('s', 480);
        FleetSimulation.Run run = FleetSimulation.run(List.of(new FleetSimulation.Arrival(0, "base", shared, 2),
                new FleetSimulation.Arrival(1000, "base", shared + prompt('t', 100), 2)), List.of(POD, POD), null,
                new PdRouter(1, 0), LINK);
        assertEquals(2, run.pd().disaggregated());
        // the second prompt's first 480 tokens (30 blocks) are on the decode pod already: 100 tokens move
        assertEquals(480 + 100, run.pd().transferredTokens());
        assertEquals(480, run.outcomes().get(1).cachedTokens(), "the decode pod's own cache");
    }

    @Test
    void hangingPrefillPodTimesOutAndTheRequestCompletesDecodeOnly() {
        double[] slow = {1000, 1}; // the prefill pod takes 15 s for a 15 ms prefill
        FleetSimulation.Run run = FleetSimulation.run(List.of(new FleetSimulation.Arrival(0, "base",
                prompt('a', 500), 3)), List.of(POD, POD), slow, new PdRouter(1, 0), LINK);
        FleetSimulation.Outcome o = run.outcomes().get(0);
        assertEquals(200, o.status());
        assertEquals(1, run.pd().prefillTimedOut());
        assertEquals(0, run.pd().disaggregated());
        assertEquals(100 + 15, o.ttftMs(), 1e-6, "the 100 ms timeout, then the decode pod prefills itself");
    }

    @Test
    void prefillerTheFleetDoesNotHaveMeansDecodeOnlyCounted() {
        FleetSimulation.Run run = FleetSimulation.run(List.of(new FleetSimulation.Arrival(0, "base",
                prompt('a', 500), 3)), List.of(POD, POD), null, new PdRouter(1,
                FleetSimulation.Router.UNKNOWN_PREFILLER), LINK);
        assertEquals(200, run.outcomes().get(0).status());
        assertEquals(1, run.pd().unknownPrefiller());
        assertEquals(15, run.outcomes().get(0).ttftMs(), 1e-6);
    }

    @Test
    void aLongPrefillOnTheDecodePodStallsOtherDecodesUnlessItIsDisaggregated() {
        List<FleetSimulation.Arrival> work = List.of(new FleetSimulation.Arrival(0, "base", prompt('d', 16), 40),
                new FleetSimulation.Arrival(50, "base", prompt('p', 5000), 2));
        KvTransfer patient = new KvTransfer(2000, 1, 1, 0, 10_000);
        FleetSimulation.Run aggregated = FleetSimulation.run(work, List.of(POD, POD), null, new PdRouter(1, 1),
                patient);
        FleetSimulation.Run disaggregated = FleetSimulation.run(work, List.of(POD, POD), null, new PdRouter(1, 0),
                patient);
        double worstAggregated = Arrays.stream(aggregated.tokenGapsMs()).max().orElseThrow();
        double worstDisaggregated = Arrays.stream(disaggregated.tokenGapsMs()).max().orElseThrow();
        assertTrue(worstAggregated >= 19.9, "a 1,000-token prefill chunk shares the step: " + worstAggregated);
        assertEquals(1, disaggregated.pd().disaggregated());
        assertTrue(worstDisaggregated < 10.2, "only the decode leg's one token joins: " + worstDisaggregated);
        assertTrue(disaggregated.outcomes().get(1).ttftMs() > aggregated.outcomes().get(1).ttftMs(),
                "the price: the KV transfer and a second hop on the long request's first token");
    }
}
