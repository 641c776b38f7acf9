package io.epp4j.epp.flowcontrol;

import io.epp4j.epp.config.FlowControlConfig;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.SaturationDetector;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** The flow controller's queues driven by hand: an injected ticker and saturation, cycles run by the test. */
class FlowControllerTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private double saturation = 1.0;
    private final SaturationDetector detector = new SaturationDetector() {
        @Override
        public double saturation(List<Endpoint> endpoints) {
            return saturation;
        }

        @Override
        public String type() {
            return "test-detector";
        }

        @Override
        public String name() {
            return "test-detector";
        }
    };
    private final AtomicReference<FlowControlConfig> config = new AtomicReference<>(config(Duration.ZERO, 0,
            FlowControlConfig.Band.DEFAULT, Map.of()));
    private static final Endpoint POD = new Endpoint(new io.epp4j.spi.EndpointInfo("pod-a", "ns", "pod-a",
            "10.0.0.1", 8000, Map.of()), io.epp4j.spi.EndpointMetrics.UNKNOWN, 0, 0);
    /** The pool flow control sees: one endpoint unless a test empties it. */
    private volatile List<Endpoint> pool = List.of(POD);
    private final FlowController flow = new FlowController(config::get, () -> pool, null, now::get, false);

    private FlowControlConfig config(Duration ttl, long maxRequests, FlowControlConfig.Band template,
                                     Map<Integer, FlowControlConfig.Band> bands) {
        return new FlowControlConfig(0, maxRequests, ttl, template, new TreeMap<>(bands), 1.0, detector);
    }

    private FlowController.Ticket enqueue(String fairnessId, int priority) {
        return flow.enqueue(new FlowRequest(fairnessId, priority, 100, "m", "m", -1));
    }

    @Test
    void withRoomAndNothingWaitingARequestIsDispatchedWithoutQueueing() {
        saturation = 0.5;
        FlowController.Ticket t = enqueue("a", 0);
        assertEquals(Outcome.DISPATCHED, t.outcome());
        assertEquals(0, flow.queuedRequests());
    }

    @Test
    void nothingLeavesWhileSaturatedThenStrictPriorityFcfsWithinABand() {
        List<String> order = new ArrayList<>();
        List<FlowController.Ticket> tickets = new ArrayList<>();
        String[][] arrivals = {{"low-1", "-1"}, {"std-1", "0"}, {"high-1", "5"}, {"std-2", "0"}, {"high-2", "5"}};
        for (String[] a : arrivals) {
            FlowController.Ticket t = enqueue(a[0], Integer.parseInt(a[1]));
            assertTrue(t.whenDone(() -> order.add(a[0])));
            tickets.add(t);
        }
        assertFalse(flow.cycle(), "saturated: nothing is dispatched");
        saturation = 0.9;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("high-1", "high-2", "std-1", "std-2", "low-1"), order);
        assertEquals(0, flow.queuedRequests());
        assertEquals(0, flow.queuedBytes());
    }

    @Test
    void roundRobinServesEachFlowInTurn() {
        config.set(config(Duration.ZERO, 0, new FlowControlConfig.Band(1000_000, 0,
                FlowControlConfig.ROUND_ROBIN, FlowControlConfig.FCFS), Map.of()));
        List<String> order = new ArrayList<>();
        for (String id : List.of("heavy", "heavy", "heavy", "heavy", "light", "other")) {
            enqueue(id, 0).whenDone(() -> order.add(id));
        }
        saturation = 0;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("heavy", "light", "other", "heavy", "heavy", "heavy"), order);
    }

    @Test
    void capacityIsCheckedGloballyAndPerBand() {
        config.set(config(Duration.ZERO, 3, FlowControlConfig.Band.DEFAULT,
                Map.of(-1, new FlowControlConfig.Band(250, 0, FlowControlConfig.GLOBAL_STRICT,
                        FlowControlConfig.FCFS))));
        assertNull(enqueue("a", -1).outcome());
        assertNull(enqueue("a", -1).outcome());
        assertEquals(Outcome.REJECTED_CAPACITY, enqueue("a", -1).outcome(), "band bytes: 300 > 250");
        assertNull(enqueue("a", 0).outcome());
        assertEquals(Outcome.REJECTED_CAPACITY, enqueue("b", 0).outcome(), "global requests: 4 > 3");
    }

    @Test
    void ttlEvictsAtItsDeadlineAndCancelAtOnce() {
        config.set(config(Duration.ofSeconds(2), 0, FlowControlConfig.Band.DEFAULT, Map.of()));
        FlowController.Ticket expires = enqueue("a", 0);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        FlowController.Ticket cancelled = enqueue("a", 0);
        cancelled.cancel();
        assertEquals(Outcome.EVICTED_CONTEXT_CANCELLED, cancelled.outcome());
        assertEquals(1, flow.queuedRequests());
        flow.cycle();
        assertNull(expires.outcome());
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        flow.cycle();
        assertEquals(Outcome.EVICTED_TTL, expires.outcome());
        assertEquals(0, flow.queuedRequests());
    }

    @Test
    void switchingFlowControlOffDispatchesWhateverWaits() {
        FlowController.Ticket t = enqueue("a", 0);
        config.set(null);
        flow.cycle();
        assertEquals(Outcome.DISPATCHED, t.outcome());
        assertEquals(0, flow.queuedRequests());
    }

    @Test
    void closingAnswersWaitingRequestsAndRejectsLaterOnes() {
        FlowController.Ticket t = enqueue("a", 0);
        flow.close();
        assertEquals(Outcome.EVICTED_OTHER, t.outcome());
        assertEquals(Outcome.REJECTED_OTHER, enqueue("b", 0).outcome());
    }

    @Test
    void aHundredThousandDistinctFairnessIdsAreCollectedOnceIdle() {
        config.set(config(Duration.ofSeconds(30), 0, FlowControlConfig.Band.DEFAULT, Map.of()));
        int peak = 0;
        for (int i = 0; i < 100_000; i++) {
            FlowController.Ticket t = enqueue("tenant-" + i, i % 3 - 1);
            if (i % 2 == 0) {
                t.cancel();
            }
            now.addAndGet(Duration.ofMillis(10).toNanos()); // 100 ids a second, 1,000 seconds in all
            flow.cycle();
            peak = Math.max(peak, flow.flows());
        }
        // flows live while they have requests (30 s TTL) and for the 5 minute GC timeout after
        long window = (FlowController.FLOW_GC_TIMEOUT.toSeconds() + 32) * 100;
        assertTrue(peak <= window, "at most the last " + window + " ids are remembered, peak was " + peak);
        now.addAndGet(Duration.ofMinutes(1).toNanos());
        flow.cycle(); // the last requests expire
        now.addAndGet(FlowController.FLOW_GC_TIMEOUT.toNanos() + Duration.ofSeconds(1).toNanos());
        flow.cycle();
        assertEquals(0, flow.queuedRequests());
        assertEquals(0, flow.flows());
    }

    private FlowControlConfig llmd(Duration ttl, Duration noEndpointTtl, FlowControlConfig.Band negative,
                                   io.epp4j.spi.UsageLimitPolicy policy, FlowControlConfig.Band template) {
        return new FlowControlConfig(0, 0, ttl, template, new TreeMap<>(), 1.0, detector, noEndpointTtl,
                negative, policy);
    }

    @Test
    void anEmptyPoolChargesTheNoEndpointBudgetAndAnswersAsUnavailable() {
        config.set(llmd(Duration.ofSeconds(2), Duration.ofSeconds(10), FlowControlConfig.Band.DEFAULT, null,
                FlowControlConfig.Band.DEFAULT));
        pool = List.of();
        FlowController.Ticket waiting = enqueue("a", 0);
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        flow.cycle();
        assertNull(waiting.outcome(), "past defaultRequestTTL but within noEndpointRequestTTL: still waits");
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        flow.cycle();
        assertEquals(Outcome.EVICTED_NO_ENDPOINTS, waiting.outcome());
        assertEquals("ServiceUnavailable", waiting.outcome().errorCode());
    }

    @Test
    void anEndpointAppearingStartsAFreshBudgetBoundedByTheLongerOne() {
        config.set(llmd(Duration.ofSeconds(4), Duration.ofSeconds(10), FlowControlConfig.Band.DEFAULT, null,
                FlowControlConfig.Band.DEFAULT));
        pool = List.of();
        FlowController.Ticket early = enqueue("a", 0);
        now.addAndGet(Duration.ofSeconds(8).toNanos());
        FlowController.Ticket late = enqueue("b", 0);
        flow.cycle();
        pool = List.of(POD); // scaled from zero, but still saturated: the regime changes at this cycle
        flow.cycle();
        now.addAndGet(Duration.ofSeconds(3).toNanos());
        flow.cycle();
        assertEquals(Outcome.EVICTED_TTL, early.outcome(), "11 s in: capped by the longer budget (10 s)");
        assertNull(late.outcome(), "3 s into the fresh 4 s budget");
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        flow.cycle();
        assertEquals(Outcome.EVICTED_TTL, late.outcome());
    }

    @Test
    void aFullQueueWithNoEndpointIsRejectedAsUnavailable() {
        config.set(config(Duration.ZERO, 1, FlowControlConfig.Band.DEFAULT, Map.of()));
        pool = List.of();
        assertNull(enqueue("a", 0).outcome());
        assertEquals(Outcome.REJECTED_NO_ENDPOINTS, enqueue("a", 0).outcome());
        pool = List.of(POD);
        assertEquals(Outcome.REJECTED_CAPACITY, enqueue("a", 0).outcome());
    }

    @Test
    void negativePrioritiesUseTheirOwnTemplate() {
        FlowControlConfig.Band small = new FlowControlConfig.Band(1_000_000, 1, FlowControlConfig.GLOBAL_STRICT,
                FlowControlConfig.FCFS);
        config.set(llmd(Duration.ZERO, Duration.ZERO, small, null, FlowControlConfig.Band.DEFAULT));
        assertNull(enqueue("a", -5).outcome());
        assertEquals(Outcome.REJECTED_CAPACITY, enqueue("a", -5).outcome(), "the negative band holds one");
        assertNull(enqueue("a", 0).outcome());
        assertNull(enqueue("a", 0).outcome(), "priority 0 keeps the default template");
    }

    @Test
    void aUsagePolicyGatesLowerBandsWhileTheHighestStillDispatches() {
        io.epp4j.spi.UsageLimitPolicy halfForLower = new io.epp4j.spi.UsageLimitPolicy() {
            @Override
            public void ceilings(double s, int[] priorities, double[] ceilings) {
                for (int i = 0; i < priorities.length; i++) {
                    ceilings[i] = i == 0 ? 1.0 : 0.5;
                }
            }

            @Override
            public String type() {
                return "test-policy";
            }

            @Override
            public String name() {
                return "test-policy";
            }
        };
        config.set(llmd(Duration.ZERO, Duration.ZERO, FlowControlConfig.Band.DEFAULT, halfForLower,
                FlowControlConfig.Band.DEFAULT));
        saturation = 1.0;
        List<String> order = new ArrayList<>();
        for (String[] a : new String[][] {{"low", "0"}, {"high", "5"}}) {
            enqueue(a[0], Integer.parseInt(a[1])).whenDone(() -> order.add(a[0]));
        }
        saturation = 0.7;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("high"), order, "the lower band's ceiling 0.5 is below saturation 0.7");
        assertEquals(Outcome.DISPATCHED, enqueue("high-2", 5).outcome(), "the top band is open at 0.7");
        saturation = 0.3;
        flow.cycle();
        assertEquals(List.of("high", "low"), order);
    }

    @Test
    void priorityHoldbackHoldsBackTheLowestBandsFirstAsSaturationRises() {
        // llm-d's priority-holdback-policy by rank: ceilings 0.9, 0.65, 0.4 for priorities 10, 0, -10
        config.set(llmd(Duration.ZERO, Duration.ZERO, FlowControlConfig.Band.DEFAULT,
                new io.epp4j.scorers.flowcontrol.PriorityHoldbackPolicy("holdback", new io.epp4j.spi.PluginParameters(
                        Map.of("minCeiling", 0.4, "maxCeiling", 0.9))), FlowControlConfig.Band.DEFAULT));
        saturation = 1.0;
        List<String> order = new ArrayList<>();
        for (String[] a : new String[][] {{"batch", "-10"}, {"standard", "0"}, {"critical", "10"}}) {
            enqueue(a[0], Integer.parseInt(a[1])).whenDone(() -> order.add(a[0]));
        }
        saturation = 0.92;
        assertFalse(flow.cycle(), "above every ceiling, even the top band's 0.9");
        saturation = 0.7;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("critical"), order);
        saturation = 0.5;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("critical", "standard"), order, "0.65 is open at 0.5, 0.4 is not");
        saturation = 0.3;
        flow.cycle();
        assertEquals(List.of("critical", "standard", "batch"), order);
    }

    @Test
    void aFairnessPluginChoosesTheFlow() {
        io.epp4j.spi.FairnessPolicy lastFlow = new io.epp4j.spi.FairnessPolicy() {
            @Override
            public int pick(int priority, List<QueuedFlow> flows) {
                return flows.size() - 1;
            }

            @Override
            public String type() {
                return "test-fairness";
            }

            @Override
            public String name() {
                return "test-fairness";
            }
        };
        config.set(config(Duration.ZERO, 0, new FlowControlConfig.Band(1_000_000, 0, "test-fairness",
                FlowControlConfig.FCFS, lastFlow), Map.of()));
        List<String> order = new ArrayList<>();
        for (String id : List.of("a", "b", "c")) {
            enqueue(id, 0).whenDone(() -> order.add(id));
        }
        saturation = 0;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("c", "b", "a"), order);
    }

    @Test
    void programAwareFairnessDispatchesTheLeastServedProgramFirst() {
        io.epp4j.scorers.flowcontrol.ProgramAwareFairness las = new io.epp4j.scorers.flowcontrol.ProgramAwareFairness(
                "las", io.epp4j.spi.PluginParameters.EMPTY, now::get);
        las.onComplete(new io.epp4j.spi.CycleState(), new io.epp4j.spi.InferenceRequest("r",
                io.epp4j.spi.ApiType.COMPLETIONS, "m", "m", io.epp4j.spi.ByteSlice.EMPTY, "", false, 0, "heavy",
                Map.of(), 0), null, new io.epp4j.spi.ResponseUsage(4000, 1000, -1, 5000), true);
        config.set(config(Duration.ZERO, 0, new FlowControlConfig.Band(1_000_000, 0, las.type(),
                FlowControlConfig.FCFS, las), Map.of()));
        List<String> order = new ArrayList<>();
        for (String id : List.of("heavy", "heavy", "light")) {
            enqueue(id, 0).whenDone(() -> order.add(id));
        }
        saturation = 0;
        while (flow.cycle()) {
            now.addAndGet(1000);
        }
        assertEquals(List.of("light", "heavy", "heavy"), order, "the program with no attained service goes first");
    }
}
