package io.epp4j.epp.datastore;

import io.epp4j.spi.EndpointInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class EndpointStoreTest {

    private final EndpointStore store = new EndpointStore();

    private static EndpointInfo pod(String name, String ip) {
        return new EndpointInfo(name, "ns", name, ip, 8000, Map.of());
    }

    private void assertInFlight(int requests, long tokens) {
        assertEquals(requests, store.get("a").inFlightRequests());
        assertEquals(tokens, store.get("a").inFlightTokens());
    }

    @Test
    void countsInFlightRequestsAndTokensUntilReleasedOnce() {
        store.replaceAll(List.of(pod("a", "10.0.0.1")));
        EndpointStore.InFlightSlot slot = store.acquire("a", 100);
        store.acquire("a", 50);
        assertInFlight(2, 150);
        slot.release();
        slot.release();
        assertInFlight(1, 50);
    }

    @Test
    void aLateReleaseDoesNotTouchAnEndpointReplacedUnderTheSameName() {
        store.replaceAll(List.of(pod("a", "10.0.0.1")));
        EndpointStore.InFlightSlot old = store.acquire("a", 100);
        store.upsert(pod("a", "10.0.0.9"));
        old.release();
        assertInFlight(0, 0);
    }

    @Test
    void acquiringAnUnknownEndpointIsHarmless() {
        store.acquire("gone", 10).release();
        assertNull(store.get("gone"));
    }

    @Test
    void listenersHearRemovalsBeforeAdditionsAndOnlyRealChanges() {
        List<String> events = new ArrayList<>();
        store.addListener(new EndpointStore.Listener() {
            @Override
            public void onAdded(EndpointInfo endpoint) {
                events.add("+" + endpoint.name() + "@" + endpoint.ip());
            }

            @Override
            public void onRemoved(EndpointInfo endpoint) {
                events.add("-" + endpoint.name() + "@" + endpoint.ip());
            }
        });
        store.replaceAll(List.of(pod("a", "10.0.0.1"), pod("b", "10.0.0.2")));
        store.replaceAll(List.of(pod("a", "10.0.0.1"), pod("b", "10.0.0.3")));
        store.remove("a");
        assertEquals(List.of("+a@10.0.0.1", "+b@10.0.0.2", "-b@10.0.0.2", "+b@10.0.0.3", "-a@10.0.0.1"), events);
    }
}
