package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class DirectorTest {

    private static InferenceRequest request(String id) {
        return new InferenceRequest(id, ApiType.CHAT_COMPLETIONS, "m", "m", ByteSlice.of("[\"12345678\"]"), "",
                false, 0, "default-flow", Map.of(), 20);
    }

    private static EndpointStore store(String... addresses) {
        EndpointStore store = new EndpointStore();
        store.replaceAll(java.util.Arrays.stream(addresses).map(a -> {
            int colon = a.lastIndexOf(':');
            return EndpointInfo.ofAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
        }).toList());
        store.setSynced(true);
        return store;
    }

    @ParameterizedTest
    @CsvSource({"10.0.0.1:8000, 10.0.0.1", "[fd00::1]:8000, fd00::1", "10.0.0.1, 10.0.0.1", "fd00::1, fd00::1"})
    void subsetHintAddressesMatchByIp(String address, String ip) {
        assertEquals(ip, Director.ipOf(address));
    }

    @Test
    void rewriteHeaderWinsOverRulesWhichWinOverTheIncomingName() {
        Director d = new Director(store(), new RandomScheduler(1), ObjectiveResolver.NONE,
                m -> m.equals("a") ? new ModelRewriter.Choice("a-rule", "a-v2") : null, false,
                new RandomScheduler(1));
        assertEquals(new ModelRewriter.Choice(null, "from-header"), d.targetModel("a", "from-header"));
        assertEquals(new ModelRewriter.Choice("a-rule", "a-v2"), d.targetModel("a", null));
        assertEquals(new ModelRewriter.Choice(null, "b"), d.targetModel("b", ""));
    }

    @Test
    void completionReleasesTheSlotAndTellsTheSchedulerExactlyOnce() throws Exception {
        EndpointStore store = store("10.0.0.1:8000");
        AtomicInteger completions = new AtomicInteger();
        RequestScheduler scheduler = new RequestScheduler() {
            @Override
            public io.epp4j.spi.SchedulingResult schedule(InferenceRequest r, List<Endpoint> c) {
                return new io.epp4j.spi.SchedulingResult("p", List.of(c.get(0)));
            }

            @Override
            public void onComplete(InferenceRequest r, Endpoint t, ResponseUsage u, boolean s) {
                completions.incrementAndGet();
            }
        };
        Director d = new Director(store, scheduler, ObjectiveResolver.NONE, ModelRewriter.NONE, false,
                new RandomScheduler(1));
        Routed routed = d.route(request("r1"), null);
        Endpoint before = store.get("10.0.0.1:8000");
        assertEquals(1, before.inFlightRequests());
        assertEquals(3, before.inFlightTokens(), "12-byte prompt: 3 tokens at 4 bytes a token");
        assertTrue(d.complete(routed, ResponseUsage.NONE, true));
        assertFalse(d.complete(routed, ResponseUsage.NONE, false));
        assertEquals(0, store.get("10.0.0.1:8000").inFlightRequests());
        assertEquals(0, store.get("10.0.0.1:8000").inFlightTokens());
        assertEquals(1, completions.get());
    }

    @Test
    void headerOnlyPicksDistinguishAnEmptyPoolFromAnEmptySubset() {
        Director empty = new Director(store(), new RandomScheduler(1), ObjectiveResolver.NONE, ModelRewriter.NONE,
                false, new RandomScheduler(1));
        assertEquals(InferenceError.Code.INTERNAL, assertThrows(InferenceError.class,
                () -> empty.pickAny(null)).code());
        Director one = new Director(store("10.0.0.1:8000"), new RandomScheduler(1), ObjectiveResolver.NONE,
                ModelRewriter.NONE, false, new RandomScheduler(1));
        assertEquals(InferenceError.Code.SERVICE_UNAVAILABLE, assertThrows(InferenceError.class,
                () -> one.pickAny(List.of("10.9.9.9:1"))).code());
    }

    @Test
    void randomPicksAreUniformAndReproducible() {
        List<Endpoint> candidates = store("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1").snapshot();
        int[] counts = new int[4];
        RandomScheduler picker = new RandomScheduler(42);
        for (int i = 0; i < 4000; i++) {
            counts[candidates.indexOf(picker.pick(candidates))]++;
        }
        for (int c : counts) {
            assertTrue(c > 850 && c < 1150, java.util.Arrays.toString(counts));
        }
        assertEquals(new RandomScheduler(7).pick(candidates), new RandomScheduler(7).pick(candidates));
    }
}
