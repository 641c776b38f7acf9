package io.epp4j.epp.debug;

import io.epp4j.epp.kvevents.KvEventFrames;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code /debug/endpoints} and {@code /debug/decisions} on the metrics port, over real HTTP and ext_proc. */
@SuppressWarnings("unchecked")
class DebugPagesTest {

    @Test
    void endpointsShowEachEndpointsScrapedMetricsAgeInFlightAndPicks() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            DebugFixture.Started open = f.start("req-open", "m");
            Map<String, Object> page = f.json("/debug/endpoints");
            Map<String, Object> pool = (Map<String, Object>) page.get("pool");
            assertEquals(true, pool.get("synced"));
            assertEquals(3, pool.get("endpoints"));
            assertEquals(3, pool.get("freshEndpoints"));
            List<Map<String, Object>> endpoints = (List<Map<String, Object>>) page.get("endpoints");
            assertEquals(f.addresses, endpoints.stream().map(e -> e.get("address")).toList());
            for (int i = 0; i < endpoints.size(); i++) {
                Map<String, Object> e = endpoints.get(i);
                Map<String, Object> m = (Map<String, Object>) e.get("metrics");
                assertEquals(DebugFixture.LOAD[i][0], m.get("waitingQueueSize"));
                assertEquals(DebugFixture.LOAD[i][1], m.get("runningRequests"));
                assertEquals(DebugFixture.LOAD[i][2] / 100.0, ((Number) m.get("kvCacheUsage")).doubleValue(), 1e-9);
                long age = ((Number) m.get("ageMillis")).longValue();
                assertTrue(age >= 0 && age < 2000, "scrape age " + age);
                boolean picked = e.get("address").equals(open.destination());
                assertEquals(picked ? 1 : 0, e.get("inFlightRequests"), "the open request is in flight on its pick");
                assertEquals(picked ? 1 : 0, ((Number) e.get("picks")).intValue());
            }
            open.finish(5);
            Map<String, Object> after = f.json("/debug/endpoints");
            for (Map<String, Object> e : (List<Map<String, Object>>) after.get("endpoints")) {
                assertEquals(0, e.get("inFlightRequests"), "released when the response ended");
            }
        }
    }

    @Test
    void decisionsShowEachPluginsScoreWeightThePickTheOutcomeAndStages() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            String first = f.complete("req-1", "m");
            String second = f.complete("req-2", "m");
            DebugFixture.Started open = f.start("req-open", "m");

            Map<String, Object> page = f.json("/debug/decisions");
            List<Map<String, Object>> requests = (List<Map<String, Object>>) page.get("requests");
            assertEquals(List.of("req-2", "req-1"), requests.stream().map(r -> r.get("requestId")).toList(),
                    "ended requests, newest first");
            Map<String, Object> r = requests.get(1);
            assertEquals("m", r.get("model"));
            assertEquals(3, r.get("candidates"));
            assertEquals(List.of(first), r.get("picked"));
            assertEquals("success", r.get("outcome"));
            assertEquals(12, r.get("completionTokens"));
            Map<String, Object> stages = (Map<String, Object>) r.get("stagesMicros");
            for (String stage : List.of("parse", "admission", "scheduling", "preRequest", "decision",
                    "responseHeaders", "total")) {
                assertNotNull(stages.get(stage), stage);
            }
            assertTrue(((Number) stages.get("total")).doubleValue() >= ((Number) stages.get("decision")).doubleValue());

            List<Map<String, Object>> profiles = (List<Map<String, Object>>) r.get("profiles");
            assertEquals(1, profiles.size());
            Map<String, Object> profile = profiles.get(0);
            List<Map<String, Object>> scorers = (List<Map<String, Object>>) profile.get("scorers");
            assertFalse(scorers.isEmpty());
            assertTrue(scorers.stream().anyMatch(s -> s.get("name").equals("queue-scorer")), scorers.toString());
            List<Map<String, Object>> candidates = (List<Map<String, Object>>) profile.get("endpoints");
            assertEquals(3, candidates.size());
            for (Map<String, Object> c : candidates) {
                List<Number> scores = (List<Number>) c.get("scores");
                assertEquals(scorers.size(), scores.size());
                double total = 0;
                for (int s = 0; s < scores.size(); s++) {
                    total += scores.get(s).doubleValue() * ((Number) scorers.get(s).get("weight")).doubleValue();
                }
                assertEquals(total, ((Number) c.get("total")).doubleValue(), 1e-9, "total = Σ score × weight");
                assertEquals(c.get("endpoint").equals(first), c.get("picked"));
            }
            // the emptiest endpoint (no queue, least KV cache) wins every term of the default profile
            assertEquals(f.addresses.get(0), first);
            assertEquals(f.addresses.get(0), second);

            List<Map<String, Object>> inFlight = (List<Map<String, Object>>) page.get("inFlight");
            assertEquals(List.of("req-open"), inFlight.stream().map(d -> d.get("requestId")).toList());
            assertEquals(1, ((List<?>) inFlight.get(0).get("profiles")).size());
            Map<String, Object> scheduler = (Map<String, Object>) page.get("scheduler");
            assertEquals(3, ((Number) scheduler.get("decisions")).intValue());
            assertEquals(1, ((List<?>) f.json("/debug/decisions?limit=1").get("requests")).size());
            open.finish(1);
        }
    }

    private static final String PRECISE_CONFIG = """
            apiVersion: llm-d.ai/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: endpoint-notification-source
            - type: precise-prefix-cache-producer
              parameters:
                tokenProcessorConfig: {blockSizeTokens: 16}
                kvEventsConfig:
                  podDiscoveryConfig: {socketPortOffset: %d}
            - type: prefix-cache-scorer
              parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
            - type: queue-scorer
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: prefix-cache-scorer
              - pluginRef: queue-scorer
            dataLayer:
              sources:
              - pluginRef: endpoint-notification-source
                extractors:
                - pluginRef: precise-prefix-cache-producer
            """;

    /** The {@code preciseIndexes} of each endpoint on {@code /debug/endpoints}, in the fixture's order. */
    private static List<Map<String, Object>> preciseStates(DebugFixture f) throws Exception {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (Map<String, Object> e : (List<Map<String, Object>>) f.json("/debug/endpoints").get("endpoints")) {
            List<Map<String, Object>> states = (List<Map<String, Object>>) e.get("preciseIndexes");
            assertEquals(1, states.size(), "one precise index follows " + e.get("address"));
            out.add(states.get(0));
        }
        return out;
    }

    @Test
    void endpointsShowEachPodsKvEventsEntriesSequenceAndFallbackState() throws Exception {
        try (ZContext zmq = new ZContext()) {
            Random random = new Random();
            for (int attempt = 0; attempt < 10; attempt++) {
                int offset = 1000 + random.nextInt(3000);
                try (DebugFixture f = new DebugFixture("--config-text=" + PRECISE_CONFIG.formatted(offset))) {
                    List<ZMQ.Socket> pubs = new java.util.ArrayList<>();
                    try {
                        for (String address : f.addresses) {
                            ZMQ.Socket pub = zmq.createSocket(SocketType.PUB);
                            pubs.add(pub);
                            pub.bind("tcp://127.0.0.1:" + (Integer.parseInt(address.split(":")[1]) + offset));
                        }
                    } catch (ZMQException e) {
                        pubs.forEach(zmq::destroySocket);
                        continue; // a port was taken: another offset
                    }
                    assertPreciseStates(f, pubs);
                    return;
                }
            }
            throw new AssertionError("no free publisher ports");
        }
    }

    /** Pod 0 stays healthy, pod 1 loses events it cannot replay, pod 2 never publishes. */
    private static void assertPreciseStates(DebugFixture f, List<ZMQ.Socket> pubs) throws Exception {
        String[] topics = f.addresses.stream().map(a -> "kv@" + a + "@m").toArray(String[]::new);
        DebugFixture.await("pods 0 and 1 joined", () -> {
            KvEventFrames.send(pubs.get(0), topics[0], 0, KvEventFrames.stored(new long[] {1, 2}, null,
                    IntStream.range(0, 32).toArray(), 16));
            KvEventFrames.send(pubs.get(1), topics[1], 0, KvEventFrames.stored(new long[] {11}, null,
                    IntStream.range(100, 116).toArray(), 16));
            try {
                List<Map<String, Object>> s = preciseStates(f);
                return s.get(0).get("entries").equals(2) && s.get(1).get("entries").equals(1);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        // pod 1's next batch is number 4: batches 1 to 3 were lost and it has no replay socket
        KvEventFrames.send(pubs.get(1), topics[1], 4, KvEventFrames.stored(new long[] {21, 22, 23}, null,
                IntStream.range(200, 248).toArray(), 16));
        DebugFixture.await("pod 1's gap seen", () -> {
            try {
                return preciseStates(f).get(1).get("lastSequence").equals(4);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        List<Map<String, Object>> s = preciseStates(f);
        Map<String, Object> healthy = s.get(0);
        assertEquals("events", healthy.get("scoredBy"));
        assertEquals("events_healthy", healthy.get("health"));
        assertEquals(0, healthy.get("lastSequence"));
        long age = ((Number) healthy.get("lastEventAgeMillis")).longValue();
        assertTrue(age >= 0 && age < 10_000, "age " + age);
        assertEquals(0, healthy.get("gapsUnrecovered"));

        Map<String, Object> gapped = s.get(1);
        assertEquals("approximate", gapped.get("scoredBy"), "a gap it could not replay sends it to the fallback");
        assertEquals("sequence_gap", gapped.get("health"));
        assertEquals(3, gapped.get("entries"), "cleared at the gap, then batch 4's blocks");
        assertEquals(1, gapped.get("gapsUnrecovered"));
        assertEquals(0, gapped.get("gapsReplayed"));

        Map<String, Object> silent = s.get(2);
        assertEquals("approximate", silent.get("scoredBy"));
        assertEquals("no_events", silent.get("health"));
        assertEquals(0, silent.get("entries"));
        assertEquals(null, silent.get("lastSequence"));
        assertEquals(null, silent.get("lastEventAgeMillis"));

        Map<String, Object> pool = (Map<String, Object>) f.json("/debug/endpoints").get("pool");
        Map<String, Object> index = ((List<Map<String, Object>>) pool.get("preciseIndexes")).get(0);
        assertEquals("precise-prefix-cache-producer", index.get("plugin"));
        assertEquals(true, index.get("fallback"));
        assertEquals(5, index.get("entries"));
        assertEquals(3, index.get("pods"));
        assertEquals(1, index.get("podsScoredByEvents"));
    }

    @Test
    void endpointsShowNoPreciseStateWithoutAPreciseIndex() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            Map<String, Object> page = f.json("/debug/endpoints");
            assertFalse(((Map<String, Object>) page.get("pool")).containsKey("preciseIndexes"));
            for (Map<String, Object> e : (List<Map<String, Object>>) page.get("endpoints")) {
                assertFalse(e.containsKey("preciseIndexes"));
            }
        }
    }

    @Test
    void rejectedRequestsAreRecordedWithTheirErrorCode() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            byte[] body = Messages.chatBody("m", false, 10);
            GatewayStream s = f.epp.post(Dialect.ENVOY, "/v1/chat/completions", body, 1000,
                    Messages.subsetHint("10.9.9.9:8000"), "x-request-id", "req-nowhere");
            ProcessingResponse answer = s.next();
            assertEquals(503, answer.getImmediateResponse().getStatus().getCodeValue());
            s.awaitClose();
            Map<String, Object> r = ((List<Map<String, Object>>) f.json("/debug/decisions").get("requests")).get(0);
            assertEquals("req-nowhere", r.get("requestId"));
            assertEquals("ServiceUnavailable", r.get("outcome"));
            assertEquals(0, r.get("candidates"));
            assertEquals(List.of(), r.get("picked"));
            assertTrue(((String) r.get("message")).contains("candidates"), (String) r.get("message"));
        }
    }

    @Test
    void dashboardIsServedFromTheJarAndUnknownPathsAre404() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            HttpResponse<String> page = f.get("/");
            assertEquals(200, page.statusCode());
            assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
            assertTrue(page.body().contains("debug/endpoints") && page.body().contains("debug/decisions"));
            assertFalse(page.body().matches("(?s).*(src|href)=\"(https?:)?//.*") || page.body().contains("url(http"),
                    "no external assets");
            assertEquals(404, f.get("/debug/nothing").statusCode());
            HttpResponse<String> post = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
                    .newBuilder(java.net.URI.create(f.baseUrl() + "/debug/endpoints"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }
}
