package io.epp4j.epp.kvevents;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** When a pod's events count as stale: silence only after a request that had blocks to store was prefilled. */
class PodEventHealthTest {

    private static final long STALE = 5_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000);
    private final List<String> transitions = new ArrayList<>();
    private final PodEventHealth health = new PodEventHealth("10.0.0.1:8000", STALE, now::get,
            (pod, precise, reason) -> transitions.add((precise ? "precise " : "approximate ") + reason));

    private void advance(long nanos) {
        now.addAndGet(nanos);
    }

    @Test
    void aPodIsQuietWithoutBlame() {
        health.onEvents();
        // requests routed there are prefix hits, or still queued: nothing is due
        advance(10 * STALE);
        assertEquals(PodEventHealth.HEALTHY, health.state());
        assertEquals(List.of("precise events_healthy"), transitions);
    }

    @Test
    void anEventSinceThePickAccountsForTheStoreDue() {
        health.onEvents();
        long routed = now.get();
        advance(1_000_000);
        health.onEvents(); // the blocks of that request, or of any other: the publisher is alive
        advance(STALE);
        health.onStoreDue(routed);
        advance(2 * STALE);
        assertEquals(PodEventHealth.HEALTHY, health.state());
    }

    @Test
    void silenceAfterAPrefilledStoreTurnsStaleAndTheNextEventHeals() {
        health.onEvents();
        advance(STALE);
        long routed = now.get();
        advance(3 * STALE); // queued behind others: its wait does not count
        health.onStoreDue(routed);
        advance(STALE - 1);
        assertEquals(PodEventHealth.HEALTHY, health.state(), "staleAfter runs from the first token");
        advance(1);
        assertEquals("stale", health.state());
        health.onEvents();
        assertEquals(PodEventHealth.HEALTHY, health.state());
        assertEquals(List.of("precise events_healthy", "approximate stale", "precise events_healthy"), transitions);
    }
}
