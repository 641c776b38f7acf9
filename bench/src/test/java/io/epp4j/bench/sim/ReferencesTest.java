package io.epp4j.bench.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReferencesTest {

    private static String text(long seed, int tokens) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < tokens * SimConfig.CHARS_PER_TOKEN) {
            sb.append((char) ('a' + r.nextInt(26)));
        }
        return sb.toString();
    }

    /** Requests on a few shared prefixes with their own tails, Poisson arrivals. */
    private static List<FleetSimulation.Arrival> sharedPrefixes(long seed, int n, double perSecond) {
        SplittableRandom r = new SplittableRandom(seed);
        List<FleetSimulation.Arrival> out = new ArrayList<>();
        double t = 0;
        for (int i = 0; i < n; i++) {
            t += -Math.log(1 - r.nextDouble()) / perSecond * 1000;
            String prompt = text(r.nextInt(4), 200 + r.nextInt(3000)) + text(1000 + i, 20 + r.nextInt(400));
            out.add(new FleetSimulation.Arrival((long) t, "m", prompt, 1 + r.nextInt(300)));
        }
        return out;
    }

    private static SimConfig fleet(EngineModel model) {
        SimConfig c = model == EngineModel.STEP ? SimConfig.stepDefaults("m", StepProfile.H100_8B)
                .withCapacity(32, 1000, 2000) : SimConfig.defaults("m").withCapacity(8, 1000, 2000);
        return c.withJitter(0.1);
    }

    /** Sends request i to pod i mod n, or to a seeded random pod. */
    private record Blind(boolean random, SplittableRandom r) implements FleetSimulation.Router {
        @Override
        public int route(int index, FleetSimulation.Arrival a, long now, FleetSimulation.Fleet fleet) {
            return random ? r.nextInt(fleet.size()) : index % fleet.size();
        }
    }

    @ParameterizedTest
    @EnumSource(EngineModel.class)
    void noRouterBeatsTheLowerBoundOnAnyRequest(EngineModel model) {
        for (long seed = 1; seed <= 3; seed++) {
            List<FleetSimulation.Arrival> arrivals = sharedPrefixes(seed, 300, 40);
            List<SimConfig> pods = FleetSimulation.uniform(fleet(model).withSeed(seed), 3);
            double[] slow = {1.0, 0.8, 2.0};
            double[] bound = LowerBound.ttftMs(arrivals, pods.get(0), 0.8);
            for (FleetSimulation.Router router : List.of(new Blind(false, null),
                    new Blind(true, new SplittableRandom(seed)), new GreedyReference())) {
                FleetSimulation.Run run = FleetSimulation.run(arrivals, pods, slow, router);
                for (int i = 0; i < arrivals.size(); i++) {
                    FleetSimulation.Outcome o = run.outcomes().get(i);
                    assertEquals(200, o.status());
                    assertTrue(o.ttftMs() >= bound[i] - 1e-9, model + " seed " + seed + " " + router
                            + " request " + i + ": " + o.ttftMs() + " < bound " + bound[i]);
                }
            }
        }
    }

    @Test
    void theBoundCountsTheBestPrefixAnEarlierRequestLeft() {
        SimConfig c = SimConfig.stepDefaults("m", StepProfile.H100_8B);
        String shared = text(7, 4000);
        List<FleetSimulation.Arrival> arrivals = List.of(
                new FleetSimulation.Arrival(0, "m", shared + text(1, 100), 1),
                new FleetSimulation.Arrival(10, "m", shared + text(2, 100), 1),
                new FleetSimulation.Arrival(20, "adapter", shared + text(3, 100), 1));
        double[] bound = LowerBound.ttftMs(arrivals, c, 1.0);
        int cached = 4000 / 16 * 16;
        assertEquals(c.step().idlePrefillMs(0, 4100), bound[0], 1e-9);
        assertEquals(c.step().idlePrefillMs(cached, 4100 - cached), bound[1], 1e-9);
        assertEquals(bound[0], bound[2], 1e-9, "another adapter's cache is another namespace");
    }

    @Test
    void greedyReferenceFollowsACachedPrefixToAnIdlePod() {
        SimConfig c = SimConfig.stepDefaults("m", StepProfile.H100_8B);
        String shared = text(3, 8000);
        List<FleetSimulation.Arrival> arrivals = List.of(
                new FleetSimulation.Arrival(0, "m", text(4, 50), 1),
                new FleetSimulation.Arrival(100, "m", shared + text(5, 50), 1),
                new FleetSimulation.Arrival(5000, "m", shared + text(6, 50), 1));
        FleetSimulation.Run run = GreedyReference.run(arrivals, FleetSimulation.uniform(c, 3), null);
        assertEquals(run.outcomes().get(1).pod(), run.outcomes().get(2).pod());
        assertTrue(run.outcomes().get(2).cachedTokens() >= 7984);
    }

    @Test
    void greedyReferenceCountsDecodeSlotsWhereThePrefillLaneAloneWouldNot() {
        // one running slot per pod; pod 0 holds the prefix but decodes a 2,000-token answer for a minute
        SimConfig c = SimConfig.stepDefaults("m", StepProfile.H100_8B).withCapacity(1, 1000, 5000);
        String shared = text(8, 2000);
        List<FleetSimulation.Arrival> arrivals = List.of(
                new FleetSimulation.Arrival(0, "m", shared + text(9, 10), 2000),
                new FleetSimulation.Arrival(1000, "m", shared + text(10, 10), 5));
        FleetSimulation.Run run = GreedyReference.run(arrivals, FleetSimulation.uniform(c, 2), null);
        assertNotEquals(run.outcomes().get(0).pod(), run.outcomes().get(1).pod(),
                "waiting for the slot costs more than prefilling the prefix again");
        assertTrue(run.outcomes().get(1).ttftMs() < 1000);
    }

    @Test
    void theGreedyReferenceSpreadsABurstOfOneHotPrefix() {
        SimConfig c = SimConfig.stepDefaults("m", StepProfile.H100_8B).withCapacity(8, 1000, 25000);
        String shared = text(11, 6000);
        List<FleetSimulation.Arrival> arrivals = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            arrivals.add(new FleetSimulation.Arrival(i * 10L, "m", shared + text(100 + i, 3000), 50));
        }
        FleetSimulation.Run run = GreedyReference.run(arrivals, FleetSimulation.uniform(c, 4), null);
        long podsUsed = run.outcomes().stream().mapToInt(FleetSimulation.Outcome::pod).distinct().count();
        assertEquals(4, podsUsed, "a hot prefix is copied once its pod's queue outweighs the prefill");
    }
}
