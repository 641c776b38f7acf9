package io.epp4j.epp.debug;

import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

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
