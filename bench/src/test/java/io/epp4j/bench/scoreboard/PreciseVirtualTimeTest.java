package io.epp4j.bench.scoreboard;

import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code precise} in the virtual-time fleet simulation: the simulated pods' KV events reach the EPP's precise index
 * in process, a pod whose events are dropped stays on the approximate fallback, and each of two replicas hears
 * every pod's events.
 */
class PreciseVirtualTimeTest {

    private static final String MODEL = "Qwen/Qwen3-8B";

    private static List<FleetSimulation.Arrival> arrivals() {
        List<FleetSimulation.Arrival> out = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String prefix = ("system prompt " + (i % 4) + " ").repeat(120);
            // a question of a few blocks of its own: every request stores blocks, so no served pod falls silent
            out.add(new FleetSimulation.Arrival(i * 150L, MODEL, prefix + ("question " + i + " ").repeat(20), 8));
        }
        return out;
    }

    private static EppRouter router(long seed, EppRouter.KvEventDrop drop) throws Exception {
        Path file = Replay.defaultConfigs(Path.of("")).resolve("precise.yaml");
        return new EppRouter(Files.readString(file), file.toString(), 3, seed, 50_000_000L, drop);
    }

    @Test
    void thePodsEventsFillTheIndexAndADroppedPodStaysOnTheFallback() throws Exception {
        List<SimConfig> pods = FleetSimulation.uniform(SimConfig.defaults(MODEL), 3);
        try (EppRouter a = router(42, new EppRouter.KvEventDrop(1, 0));
             EppRouter b = router(43, new EppRouter.KvEventDrop(1, 0))) {
            FleetSimulation.Run run = FleetSimulation.run(arrivals(), pods, null,
                    new ReplicatedRouter(List.of(a, b)));
            assertTrue(run.outcomes().stream().allMatch(FleetSimulation.Outcome::served));
            for (EppRouter replica : List.of(a, b)) {
                PreciseIndexStatus.Snapshot status = replica.preciseStatus().get(0);
                assertEquals(3, status.pods().size());
                PreciseIndexStatus.Pod dropped = status.pods().get("10.0.0.1:8000");
                assertEquals("no_events", dropped.health());
                assertEquals("approximate", dropped.scoredBy());
                assertEquals(0, dropped.batches(), "its entries are only this replica's speculative ones");
                assertEquals(-1, dropped.lastSequence());
                for (int p = 1; p < 3; p++) {
                    int pod = p;
                    PreciseIndexStatus.Pod heard = status.pods().get("10.0.0." + (p + 1) + ":8000");
                    boolean served = run.outcomes().stream().anyMatch(o -> o.pod() == pod);
                    if (served) {
                        assertTrue(heard.batches() > 0 && heard.entries() > 0, "pod " + p + ": " + heard);
                        assertEquals("events", heard.scoredBy(), "pod " + p + ": " + heard);
                    }
                }
            }
            for (String pod : a.preciseStatus().get(0).pods().keySet()) {
                assertEquals(a.preciseStatus().get(0).pods().get(pod).batches(),
                        b.preciseStatus().get(0).pods().get(pod).batches(), "both replicas hear every batch of " + pod);
            }
        }
    }

    @Test
    void aReplicaThatHasNotRoutedYetStillHearsTheEventsOfTheOthersPicks() throws Exception {
        List<SimConfig> pods = FleetSimulation.uniform(SimConfig.defaults(MODEL), 3);
        Path file = Replay.defaultConfigs(Path.of("")).resolve("precise.yaml");
        long noScrapeInTheRun = 3_600_000_000_000L; // no tick before the first events: only routing tells the fleet
        try (EppRouter a = new EppRouter(Files.readString(file), file.toString(), 3, 42, noScrapeInTheRun,
                    EppRouter.KvEventDrop.NONE);
             EppRouter b = new EppRouter(Files.readString(file), file.toString(), 3, 43, noScrapeInTheRun,
                    EppRouter.KvEventDrop.NONE);
             EppRouter c = new EppRouter(Files.readString(file), file.toString(), 3, 44, noScrapeInTheRun,
                    EppRouter.KvEventDrop.NONE)) {
            // three replicas, two requests: c routes nothing, yet hears the pods' events as a and b do
            FleetSimulation.Run run = FleetSimulation.run(arrivals().subList(0, 2), pods, null,
                    new ReplicatedRouter(List.of(a, b, c)));
            assertTrue(run.outcomes().stream().allMatch(FleetSimulation.Outcome::served));
            for (String pod : a.preciseStatus().get(0).pods().keySet()) {
                assertEquals(a.preciseStatus().get(0).pods().get(pod).batches(),
                        c.preciseStatus().get(0).pods().get(pod).batches(), "c hears every batch of " + pod);
            }
            assertTrue(c.preciseStatus().get(0).pods().values().stream().anyMatch(p -> p.batches() > 0));
        }
    }
}
