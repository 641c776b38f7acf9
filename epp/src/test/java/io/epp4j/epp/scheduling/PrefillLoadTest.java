package io.epp4j.epp.scheduling;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.Arrival;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.scorers.load.PrefillBacklogScorer;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * P/D: the prefill pick counts what the prefill pods are already prefilling for this EPP. The director books a
 * disaggregated request on its prefill pod until the response's first bytes, so every in-flight load scorer in the
 * prefill profile sends the next long prompt to the other prefill pod instead of the one a stale queue scrape shows
 * idle.
 */
class PrefillLoadTest {

    static final String P1 = "10.0.0.1:8000";
    static final String P2 = "10.0.0.2:8000";
    static final String D = "10.0.0.3:8000";

    SchedulingEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    static String config(String prefillScorer) {
        return """
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: approx-prefix-cache-producer
                - type: %s
                - type: queue-scorer
                - type: prefill-filter
                - type: decode-filter
                - type: max-score-picker
                - type: prefix-based-pd-decider
                  parameters:
                    nonCachedTokens: 16
                - type: disagg-profile-handler
                  parameters:
                    deciders:
                      prefill: prefix-based-pd-decider
                schedulingProfiles:
                - name: prefill
                  plugins:
                  - pluginRef: prefill-filter
                  - pluginRef: %s
                  - pluginRef: max-score-picker
                - name: decode
                  plugins:
                  - pluginRef: decode-filter
                  - pluginRef: queue-scorer
                  - pluginRef: max-score-picker
                """.formatted(prefillScorer, prefillScorer);
    }

    static EndpointInfo pod(String ip, String role) {
        return new EndpointInfo(ip + ":8000", "ns", ip, ip, 8000, Map.of("llm-d.ai/role", role));
    }

    static ParsedRequest longPrompt(String topic) {
        String prompt = ("a long document about " + topic + " to summarise, ").repeat(40);
        return new ParsedRequest(ApiType.COMPLETIONS, "m", -1, -1, true, "", ByteSlice.of(prompt), prompt.length());
    }

    static Arrival arrival(String id) {
        return new Arrival(Map.of(Director.REQUEST_ID, id), null, 0);
    }

    static String prefiller(Exchange e) {
        return e.upstreamHeaders().sets().get("x-prefiller-host-port");
    }

    @ParameterizedTest
    @ValueSource(strings = {"prefill-backlog-scorer", "active-request-scorer", "token-load-scorer"})
    void aPrefillPodBusyWithThisEppsPrefillsIsAvoidedUntilItsFirstTokenIsOut(String scorer) throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        engine = new SchedulingEngine(TestPool.loader(registry).load(config(scorer), scorer), registry,
                TestPool.CLOCK, System::nanoTime, 16);
        EndpointStore store = new EndpointStore();
        store.replaceAll(List.of(pod("10.0.0.1", "prefill"), pod("10.0.0.2", "prefill"), pod("10.0.0.3", "decode")));
        store.setSynced(true);
        Director director = Director.builder(store, engine).random(new Random(7)).build();

        Exchange first = director.decide(longPrompt("tides"), arrival("r1"));
        assertEquals(D, first.primary().hostPort());
        String busy = prefiller(first);
        String idle = busy.equals(P1) ? P2 : P1;
        assertEquals(1, store.get(busy).inFlightRequests(), "the prefill pod counts the prefill it was given");
        assertEquals(first.request().estimatedPromptTokens(), store.get(busy).inFlightTokens());
        if (engine.config().plugins().get(scorer) instanceof PrefillBacklogScorer backlog) {
            assertTrue(backlog.backlogTokens(busy) > 0, "the prompt is prefill backlog where it is prefilled");
            assertEquals(0, backlog.backlogTokens(D), "and not on the decode pod, which only pulls its KV");
        }

        // no queue scrape has seen it yet: only this EPP's own count tells the prefill pods apart
        Exchange second = director.decide(longPrompt("glaciers"), arrival("r2"));
        assertEquals(idle, prefiller(second), "the second long prompt is prefilled on the other prefill pod");

        first.onResponseBody(ByteSlice.of("data: {\"choices\":[{\"text\":\" The\"}]}\n\n"), false);
        assertEquals(0, store.get(busy).inFlightRequests(), "first token out: that prefill is done");
        assertEquals(0, store.get(busy).inFlightTokens());
        assertEquals(2, store.get(D).inFlightRequests(), "the decode pod holds both until they end");

        Exchange third = director.decide(longPrompt("volcanoes"), arrival("r3"));
        assertEquals(busy, prefiller(third), "the pod that finished its prefill is the idle one now");
        assertNotEquals(prefiller(second), prefiller(third));

        for (Exchange e : List.of(first, second, third)) {
            e.complete(ResponseUsage.NONE, false); // a response that failed before its first bytes releases too
        }
        for (String pod : List.of(P1, P2, D)) {
            assertEquals(0, store.get(pod).inFlightRequests(), pod);
            assertEquals(0, store.get(pod).inFlightTokens(), pod);
        }
    }
}
