package io.epp4j.scorers.llmd;

import io.epp4j.scorers.affinity.SessionAffinityFilter;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.NOW;
import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SessionAffinityFilterTest {

    final MutableClock clock = new MutableClock(NOW);
    final List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0), endpoint(2, 5, 0, 0), endpoint(3, 9, 0, 0));
    final QueueScorer queue = new QueueScorer(null);

    /** Schedules one request like the EPP: filter, score, pick, then the pre-request hook and response headers. */
    String serve(SessionAffinityFilter filter, InferenceRequest r, List<Endpoint> endpoints, ResponseHeaders out) {
        CycleState state = new CycleState();
        String pod = Routing.pick(state, r, endpoints, List.of(filter), Map.of(queue, 1.0));
        Endpoint target = endpoints.stream().filter(e -> e.info().podName().equals(pod)).findFirst().orElseThrow();
        filter.preRequest(state, r, new SchedulingResult("default", List.of(target)));
        filter.onResponseHeaders(state, r, target, out);
        return pod;
    }

    static String token(String pod) {
        return Base64.getEncoder().encodeToString(("ns/" + pod).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void encodedTokenPinsTheSessionToItsPodAgainstTheLoadScorers() {
        SessionAffinityFilter filter = new SessionAffinityFilter(null, PluginParameters.EMPTY, clock);
        ResponseHeaders first = new ResponseHeaders(Map.of(), null);
        assertEquals("pod-1", serve(filter, request("p"), pool, first));
        assertEquals(token("pod-1"), first.added().get("x-session-token"));

        // pod-1 is now the busiest, but the session stays on it
        List<Endpoint> later = List.of(endpoint(1, 20, 0, 0), endpoint(2, 0, 0, 0), endpoint(3, 9, 0, 0));
        InferenceRequest next = request("m", "p", Map.of("x-session-token", token("pod-1")));
        assertEquals("pod-1", serve(filter, next, later, new ResponseHeaders(Map.of(), null)));
    }

    @Test
    void aGoneOrUnreadableSessionPodLeavesEveryCandidate() {
        SessionAffinityFilter filter = new SessionAffinityFilter(null, PluginParameters.EMPTY, clock);
        CycleState s = new CycleState();
        assertEquals(pool, filter.filter(s, request("m", "p", Map.of("x-session-token", token("pod-9"))), pool));
        assertEquals(pool, filter.filter(s, request("m", "p", Map.of("x-session-token", "%%%")), pool));
    }

    @Test
    void customHeaderNameIsReadAndWritten() {
        SessionAffinityFilter filter = new SessionAffinityFilter(null, new PluginParameters(Map.of(
                "encodedEndpointHeaderConfig", Map.of("header", "x-session-token-prefill"))), clock);
        ResponseHeaders out = new ResponseHeaders(Map.of(), null);
        serve(filter, request("m", "p", Map.of("x-session-token-prefill", token("pod-3"))), pool, out);
        assertEquals(token("pod-3"), out.added().get("x-session-token-prefill"));
    }

    @Test
    void sessionIdBindsToTheServingPodUntilItIdlesPastTheTtl() {
        SessionAffinityFilter filter = new SessionAffinityFilter(null, new PluginParameters(Map.of(
                "strategy", "session_id",
                "sessionIdConfig", Map.of("evictionTtlSeconds", 60, "evictionSweepSeconds", 10))), clock);
        InferenceRequest r = request("m", "p", Map.of("x-session-id", "conversation-7"));
        ResponseHeaders out = new ResponseHeaders(Map.of(), null);
        assertEquals("pod-1", serve(filter, r, pool, out));
        assertEquals(Map.of(), out.added(), "session_id writes nothing back");

        List<Endpoint> busy = List.of(endpoint(1, 20, 0, 0), endpoint(2, 0, 0, 0), endpoint(3, 9, 0, 0));
        clock.advanceMillis(50_000);
        assertEquals("pod-1", serve(filter, r, busy, out), "within the TTL the binding holds");
        clock.advanceMillis(50_000);
        assertEquals("pod-1", serve(filter, r, busy, out), "use refreshes the binding");
        clock.advanceMillis(61_000);
        assertEquals("pod-2", serve(filter, r, busy, out), "idle past the TTL: load decides and rebinds");
        assertEquals("pod-2", serve(filter, r, busy, out));
    }

    @Test
    void profileNamePinsThePickOfThatProfile() {
        SessionAffinityFilter filter = new SessionAffinityFilter("session-affinity-prefill", new PluginParameters(
                Map.of("profileName", "prefill",
                        "encodedEndpointHeaderConfig", Map.of("header", "x-session-token-prefill"))), clock);
        CycleState state = new CycleState();
        Map<String, List<Endpoint>> picks = new LinkedHashMap<>();
        picks.put("decode", List.of(pool.get(0)));
        picks.put("prefill", List.of(pool.get(2)));
        state.put(CycleState.PROFILE_PICKS, picks);
        ResponseHeaders out = new ResponseHeaders(Map.of(), null);
        filter.onResponseHeaders(state, request("p"), pool.get(0), out);
        assertEquals(token("pod-3"), out.added().get("x-session-token-prefill"));
    }

    @Test
    void rejectsUnknownStrategyAndEmptySources() {
        assertThrows(IllegalArgumentException.class, () -> new SessionAffinityFilter(null,
                new PluginParameters(Map.of("strategy", "cookie")), clock));
        assertThrows(IllegalArgumentException.class, () -> new SessionAffinityFilter(null, new PluginParameters(
                Map.of("strategy", "session_id", "sessionIdConfig", Map.of("sources", List.of()))), clock));
    }
}
