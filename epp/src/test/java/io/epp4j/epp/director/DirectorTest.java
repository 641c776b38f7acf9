package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/** The director's one call, driven with plain objects as a simulator would: no gRPC anywhere. */
class DirectorTest {

    private static ParsedRequest body(String model) {
        return new ParsedRequest(ApiType.CHAT_COMPLETIONS, model, 9, 12, false, "", ByteSlice.of("[\"12345678\"]"),
                20);
    }

    private static Arrival arrival(Map<String, String> headers) {
        Map<String, String> all = new java.util.HashMap<>(headers);
        all.putIfAbsent(Director.REQUEST_ID, "r1");
        return new Arrival(all, null, 0);
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
        assertEquals(ip, Candidates.ipOf(address));
    }

    @Test
    void rewriteHeaderWinsOverRulesWhichWinOverTheIncomingNameAndOnlyRulesAreCounted() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Director d = Director.builder(store("10.0.0.1:8000"), new RandomScheduler(1))
                .modelRewriter(m -> m.equals("a") ? new ModelRewriter.Choice("a-rule", "a-v2") : null)
                .metrics(new EppMetrics(registry, "test")).build();
        Exchange fromHeader = d.decide(body("a"), arrival(Map.of(Director.MODEL_REWRITE, "from-header")));
        assertEquals("from-header", fromHeader.request().targetModel());
        assertTrue(fromHeader.modelRewritten());
        Exchange fromRule = d.decide(body("a"), arrival(Map.of()));
        assertEquals("a-v2", fromRule.request().targetModel());
        assertEquals("a", fromRule.request().model());
        Exchange asked = d.decide(body("b"), arrival(Map.of(Director.MODEL_REWRITE, "")));
        assertEquals("b", asked.request().targetModel());
        assertFalse(asked.modelRewritten());
        assertNull(asked.rewriteBack(ByteSlice.of("{\"model\":\"b\"}").array(), 0, 11));
        String text = TestPool.scrape(registry);
        assertTrue(text.contains("inference_extension_model_rewrite_decisions_total{model_name=\"a\","
                + "model_rewrite_name=\"a-rule\",target_model=\"a-v2\"} 1.0"), text);
    }

    @Test
    void theHandleRewritesTheServedModelBackToTheOneAskedFor() throws Exception {
        Director d = Director.builder(store("10.0.0.1:8000"), new RandomScheduler(1)).build();
        Exchange e = d.decide(body("m"), arrival(Map.of(Director.MODEL_REWRITE, "m-v2")));
        byte[] response = "{\"id\":\"x\",\"model\":\"m-v2\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("{\"id\":\"x\",\"model\":\"m\"}", new String(e.rewriteBack(response, 0, response.length),
                java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void decideRunsPreRequestHooksAndCompletionReleasesTheSlotAndTellsTheSchedulerExactlyOnce() throws Exception {
        EndpointStore store = store("10.0.0.1:8000");
        List<String> calls = new ArrayList<>();
        RequestScheduler scheduler = (r, c) -> new ScheduledRequest() {
            @Override
            public SchedulingResult result() {
                return new SchedulingResult("p", List.of(c.get(0)));
            }

            @Override
            public void preRequest() {
                calls.add("preRequest " + r.requestId());
            }

            @Override
            public void onComplete(ResponseUsage usage, boolean success) {
                calls.add("complete " + success);
            }
        };
        Director d = Director.builder(store, scheduler).build();
        Exchange exchange = d.decide(body("m"), arrival(Map.of()));
        assertEquals(List.of("preRequest r1"), calls, "pre-request hooks ran before the handle came back");
        Endpoint before = store.get("10.0.0.1:8000");
        assertEquals(1, before.inFlightRequests());
        assertEquals(3, before.inFlightTokens(), "12-byte prompt: 3 tokens at 4 bytes a token");
        assertTrue(exchange.complete(ResponseUsage.NONE, true));
        assertFalse(exchange.complete(ResponseUsage.NONE, false));
        assertEquals(0, store.get("10.0.0.1:8000").inFlightRequests());
        assertEquals(0, store.get("10.0.0.1:8000").inFlightTokens());
        assertEquals(List.of("preRequest r1", "complete true"), calls);
    }

    @Test
    void durationsCountOnTheInjectedTicker() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        AtomicLong now = new AtomicLong(5_000_000_000L);
        Director d = Director.builder(store("10.0.0.1:8000"), new RandomScheduler(1))
                .metrics(new EppMetrics(registry, "test")).ticker(now::get).build();
        Exchange e = d.decide(body("m"), new Arrival(Map.of(Director.REQUEST_ID, "r"), null, now.get()));
        e.onResponseHeaders(Map.of(":status", "200"), null);
        now.addAndGet(1_500_000_000L);
        e.complete(ResponseUsage.NONE, true);
        String text = TestPool.scrape(registry);
        assertTrue(text.contains("inference_objective_request_duration_seconds_sum{model_name=\"m\","
                + "target_model_name=\"m\"} 1.5"), text);
    }

    @Test
    void schedulingErrorsNameTheRequestsModels() {
        RequestScheduler refusing = new RequestScheduler() {
            @Override
            public String admissionDenial(InferenceRequest request, List<Endpoint> candidates) {
                return "system saturated, sheddable request dropped";
            }

            @Override
            public ScheduledRequest schedule(InferenceRequest request, List<Endpoint> candidates) {
                throw new AssertionError("not admitted, so not scheduled");
            }
        };
        Director d = Director.builder(store("10.0.0.1:8000"), refusing).build();
        InferenceError e = assertThrows(InferenceError.class,
                () -> d.decide(body("m"), arrival(Map.of(Director.MODEL_REWRITE, "m-v2"))));
        assertEquals(InferenceError.Code.RESOURCE_EXHAUSTED, e.code());
        assertEquals("m", e.model());
        assertEquals("m-v2", e.targetModel());
    }

    @Test
    void admitterPluginsShedSheddableRequestsBeforeScheduling() throws Exception {
        // concurrency-detector: nothing in flight, so legacy admission lets everything through; the admitter sees
        // endpoints without metrics as saturated and sheds whatever is sheddable
        io.epp4j.epp.config.LoadedConfig config = TestPool.loader(new PrometheusRegistry()).load("""
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: probabilistic-admitter
                - type: concurrency-detector
                - type: random-picker
                saturationDetector: {pluginRef: concurrency-detector}
                """, "t");
        io.epp4j.epp.scheduling.SchedulingEngine engine = new io.epp4j.epp.scheduling.SchedulingEngine(config,
                new PrometheusRegistry());
        Director d = Director.builder(store("10.0.0.1:8000"), engine)
                .objectives(name -> "batch".equals(name) ? -1 : 0).build();
        InferenceError e = assertThrows(InferenceError.class,
                () -> d.decide(body("m"), arrival(Map.of(Director.OBJECTIVE, "batch"))));
        assertEquals(InferenceError.Code.RESOURCE_EXHAUSTED, e.code());
        assertTrue(e.getMessage().contains("probabilistic-admitter: rejected, saturation=1.000"), e.getMessage());
        assertEquals("10.0.0.1:8000", d.decide(body("m"), arrival(Map.of())).result().primary().hostPort(),
                "priority 0 is always admitted");
    }

    @Test
    void headerOnlyPicksDistinguishAnEmptyPoolFromAnEmptySubset() {
        Director empty = Director.builder(store(), new RandomScheduler(1)).build();
        assertEquals(InferenceError.Code.INTERNAL, assertThrows(InferenceError.class,
                () -> empty.pickAny(arrival(Map.of()))).code());
        Director one = Director.builder(store("10.0.0.1:8000"), new RandomScheduler(1)).build();
        assertEquals(InferenceError.Code.SERVICE_UNAVAILABLE, assertThrows(InferenceError.class,
                () -> one.pickAny(new Arrival(Map.of(), List.of("10.9.9.9:1"), 0))).code());
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
