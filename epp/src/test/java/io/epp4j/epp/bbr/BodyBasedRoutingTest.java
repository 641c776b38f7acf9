package io.epp4j.epp.bbr;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.BbrServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Status;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@code --mode bbr} over loopback TCP and the in-process transport, as Envoy-based gateways drive it. */
class BodyBasedRoutingTest {

    private static final String BASE = "Qwen/Qwen3-0.6B";
    private static final String ADAPTER = "food-review-1";
    private static final String CEL = "{\"Qwen/Qwen3-0.6B\": \"Qwen/Qwen3-0.6B\", \"food-review-1\": "
            + "\"Qwen/Qwen3-0.6B\"}[json(request.body).model]";
    private static final String MODEL_HEADER = "x-gateway-model-name";
    private static final String BASE_HEADER = "x-gateway-base-model-name";

    @TempDir
    Path dir;

    private String mapFile(String content) throws Exception {
        Path f = dir.resolve("base-models.yaml");
        Files.writeString(f, content);
        return "--base-model-map=" + f;
    }

    /** The request side of one FULL_DUPLEX exchange: the headers answer, then the echoed body. */
    private record Exchange(CommonResponse headers, byte[] echoed) {
        String set(String name) {
            return Messages.setHeader(headers.getHeaderMutation(), name);
        }
    }

    private static Exchange fullDuplex(BbrFixture bbr, byte[] body, int chunk, String... extraHeaders)
            throws Exception {
        GatewayStream s = bbr.open().send(Messages.requestHeaders(Dialect.ISTIO,
                Messages.post("/v1/chat/completions", body.length, extraHeaders), false, Messages.fullDuplex()))
                .send(Messages.requestBodyChunks(body, chunk, null));
        ProcessingResponse first = s.next();
        assertTrue(first.hasRequestHeaders(), "headers answer first, got " + first.getResponseCase());
        List<ProcessingResponse> bodyAnswers = s.nextUntilBodyEnd(true);
        s.halfClose();
        assertEquals(Status.Code.OK, s.awaitClose().getCode());
        return new Exchange(first.getRequestHeaders().getResponse(), Messages.streamedBody(bodyAnswers, true));
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void fullDuplexSetsModelAndBaseModelClearsRouteCacheAndEchoesA400KbBodyUnchanged(Transport transport)
            throws Exception {
        try (BbrFixture bbr = BbrFixture.start(transport, mapFile(BASE + ": " + BASE + "\n" + ADAPTER + ": " + BASE
                + "\n"))) {
            byte[] body = Messages.chatBody(ADAPTER, true, 400 * 1024);
            Exchange x = fullDuplex(bbr, body, 16 * 1024);
            assertEquals(ADAPTER, x.set(MODEL_HEADER));
            assertEquals(BASE, x.set(BASE_HEADER));
            assertTrue(x.headers().getClearRouteCache(), "routes must re-match on the new headers");
            assertArrayEquals(body, x.echoed());
            assertTrue(bbr.metricsText().contains("epp4j_bbr_requests_total{outcome=\"routed\"} 1.0"));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void bufferedModeContinuesHeadersAndRoutesOnTheBodyAnswer(Transport transport) throws Exception {
        try (BbrFixture bbr = BbrFixture.start(transport, "--base-model-cel=" + CEL)) {
            byte[] body = Messages.chatBody(ADAPTER, false, 1024);
            GatewayStream s = bbr.open().send(Messages.requestHeaders(Dialect.ENVOY,
                    Messages.post("/v1/completions", body.length), false,
                    Messages.mode(BodySendMode.BUFFERED, BodySendMode.NONE)));
            ProcessingResponse headers = s.next();
            assertTrue(headers.hasRequestHeaders());
            assertEquals(0, headers.getRequestHeaders().getResponse().getHeaderMutation().getSetHeadersCount());
            s.send(Messages.requestBody(body, true, null));
            ProcessingResponse answer = s.next();
            assertTrue(answer.hasRequestBody(), answer.getResponseCase().toString());
            CommonResponse common = answer.getRequestBody().getResponse();
            assertTrue(common.getClearRouteCache());
            assertFalse(common.hasBodyMutation(), "Envoy forwards its own copy of a buffered body");
            assertEquals(ADAPTER, Messages.setHeader(common.getHeaderMutation(), MODEL_HEADER));
            assertEquals(BASE, Messages.setHeader(common.getHeaderMutation(), BASE_HEADER));
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
        }
    }

    @Test
    void modelMissingFromTheMapSetsOnlyTheModelAndDropsAClientsOwnBaseModelHeader() throws Exception {
        try (BbrFixture bbr = BbrFixture.start(Transport.IN_PROCESS, mapFile(ADAPTER + ": " + BASE + "\n"))) {
            byte[] body = Messages.chatBody("llama-unknown", false, 100);
            Exchange x = fullDuplex(bbr, body, 64, BASE_HEADER, "a-route-the-client-picked");
            assertEquals("llama-unknown", x.set(MODEL_HEADER));
            assertNull(x.set(BASE_HEADER));
            assertEquals(List.of(BASE_HEADER), x.headers().getHeaderMutation().getRemoveHeadersList());
            assertArrayEquals(body, x.echoed());
            assertTrue(bbr.metricsText().contains("epp4j_bbr_requests_total{outcome=\"unmapped\"} 1.0"));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void celMapsAdaptersAndAMissLeavesTheBaseModelUnset(Transport transport) throws Exception {
        try (BbrFixture bbr = BbrFixture.start(transport, "--base-model-cel=" + CEL)) {
            Exchange adapter = fullDuplex(bbr, Messages.chatBody(ADAPTER, false, 300 * 1024), 32 * 1024);
            assertEquals(BASE, adapter.set(BASE_HEADER));
            Exchange base = fullDuplex(bbr, Messages.chatBody(BASE, false, 10), 1000);
            assertEquals(BASE, base.set(BASE_HEADER));
            assertEquals(BASE, base.set(MODEL_HEADER));
            Exchange miss = fullDuplex(bbr, Messages.chatBody("movie-critique", false, 10), 1000);
            assertEquals("movie-critique", miss.set(MODEL_HEADER));
            assertNull(miss.set(BASE_HEADER));
        }
    }

    @Test
    void celSeesHeadersAndPathAsAgentgatewayDoes() throws Exception {
        String expr = "request.path.startsWith('/v1/') && request.headers['x-tier'] == 'gold' "
                + "? string(json(request.body).model) + '-gold' : 'other'";
        try (BbrFixture bbr = BbrFixture.start(Transport.IN_PROCESS, "--base-model-cel=" + expr)) {
            Exchange x = fullDuplex(bbr, Messages.chatBody(ADAPTER, false, 10), 1000, "x-tier", "gold");
            assertEquals(ADAPTER + "-gold", x.set(BASE_HEADER));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void badBodiesContinueUnchangedWithoutHeadersAndAreCounted(Transport transport) throws Exception {
        try (BbrFixture bbr = BbrFixture.start(transport, mapFile(ADAPTER + ": " + BASE + "\n"),
                "--max-request-body-bytes=4Ki")) {
            Map<String, byte[]> bodies = Map.of(
                    "not_json", utf8("model=food-review-1&prompt=hi"),
                    "no_model", utf8("{\"prompt\":\"hi\",\"model\":{\"name\":\"x\"}}"),
                    "too_large", Messages.chatBody(ADAPTER, false, 8 * 1024));
            for (Map.Entry<String, byte[]> e : bodies.entrySet()) {
                Exchange x = fullDuplex(bbr, e.getValue(), 1000, MODEL_HEADER, "spoofed");
                assertEquals(0, x.headers().getHeaderMutation().getSetHeadersCount(), e.getKey());
                assertEquals(List.of(MODEL_HEADER), x.headers().getHeaderMutation().getRemoveHeadersList(), e.getKey());
                assertArrayEquals(e.getValue(), x.echoed(), e.getKey());
            }
            // a truncated JSON body
            byte[] truncated = java.util.Arrays.copyOf(Messages.chatBody(ADAPTER, false, 100), 60);
            assertEquals(0, fullDuplex(bbr, truncated, 7).headers().getHeaderMutation().getSetHeadersCount());
            String metrics = bbr.metricsText();
            assertTrue(metrics.contains("epp4j_bbr_requests_total{outcome=\"not_json\"} 2.0"), metrics);
            assertTrue(metrics.contains("epp4j_bbr_requests_total{outcome=\"no_model\"} 1.0"), metrics);
            assertTrue(metrics.contains("epp4j_bbr_requests_total{outcome=\"too_large\"} 1.0"), metrics);
        }
    }

    @Test
    void mapFileIsReloadedOnChangeAndABrokenOneKeepsTheOldMap() throws Exception {
        String flag = mapFile(ADAPTER + ": " + BASE + "\n");
        try (BbrFixture bbr = BbrFixture.start(Transport.TCP, flag)) {
            byte[] body = Messages.chatBody(ADAPTER, false, 10);
            assertEquals(BASE, fullDuplex(bbr, body, 1000).set(BASE_HEADER));
            Files.writeString(dir.resolve("base-models.yaml"), ADAPTER + ": [not, a, string]\n");
            Await.until("the broken map is rejected", () -> text(bbr).contains(
                    "epp4j_bbr_base_model_map_reload_total{result=\"failure\"} 1.0"));
            assertEquals(BASE, fullDuplex(bbr, body, 1000).set(BASE_HEADER));
            Files.writeString(dir.resolve("base-models.yaml"), "# moved\n" + ADAPTER + ": Qwen/Qwen3-8B\n");
            Await.until("the new map serves", () -> "Qwen/Qwen3-8B".equals(route(bbr, body)));
        }
    }

    @Test
    void headerOnlyRequestsTrailersAndTheResponseSidePassThrough() throws Exception {
        try (BbrFixture bbr = BbrFixture.start(Transport.IN_PROCESS, mapFile(ADAPTER + ": " + BASE + "\n"))) {
            GatewayStream get = bbr.open().send(Messages.requestHeaders(Dialect.ISTIO,
                    Map.of(":method", "GET", ":path", "/v1/models"), true, Messages.fullDuplex()));
            ProcessingResponse answer = get.next();
            assertTrue(answer.hasRequestHeaders());
            assertFalse(answer.getRequestHeaders().getResponse().getClearRouteCache());

            byte[] body = Messages.chatBody(ADAPTER, true, 100);
            GatewayStream s = bbr.open().send(Messages.requestHeaders(Dialect.ISTIO,
                    Messages.post("/v1/chat/completions", body.length), false, Messages.fullDuplex()))
                    .send(Messages.requestBody(body, false, null)).send(Messages.requestTrailers());
            ProcessingResponse headers = s.next();
            assertEquals(BASE, Messages.setHeader(headers.getRequestHeaders().getResponse().getHeaderMutation(),
                    BASE_HEADER));
            ProcessingResponse echoed = s.next();
            var streamed = echoed.getRequestBody().getResponse().getBodyMutation().getStreamedResponse();
            assertArrayEquals(body, streamed.getBody().toByteArray());
            assertFalse(streamed.getEndOfStream(), "the trailers end this body");
            assertTrue(s.next().hasRequestTrailers());

            s.send(Messages.responseHeaders(Dialect.ISTIO, Map.of(":status", "200"), false, null));
            assertTrue(s.next().hasResponseHeaders());
            byte[] sse = utf8("data: {\"choices\":[]}\n\n");
            s.send(Messages.responseBody(sse, false, null), Messages.responseBody(new byte[0], true, null));
            assertArrayEquals(sse, Messages.streamedBody(s.nextUntilBodyEnd(false), false));
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
        }
    }

    @Test
    void aBadCelExpressionFailsStartUpWithItsPosition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BbrServer.start(
                EppOptions.parse("--mode=bbr", "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                        "--base-model-cel={\"a\": \"b\"}[json(request.body).model"),
                new PrometheusRegistry(), Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains(":1:"), e.getMessage());
        IllegalArgumentException undeclared = assertThrows(IllegalArgumentException.class, () -> BbrServer.start(
                EppOptions.parse("--mode=bbr", "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                        "--base-model-cel=jsn(request.body).model"),
                new PrometheusRegistry(), Duration.ofSeconds(1)));
        assertTrue(undeclared.getMessage().contains("1:4") && undeclared.getMessage().contains("jsn"),
                undeclared.getMessage());
    }

    @Test
    void configFileDeclaresGaiePluginsByTypeName() throws Exception {
        String config = """
                plugins:
                - type: body-field-to-header
                  name: model-header
                  parameters: {fieldName: model, headerName: X-Gateway-Model-Name}
                - type: body-field-to-header
                  name: tier-header
                  parameters: {fieldName: service_tier, headerName: X-Service-Tier}
                - type: base-model-to-header
                """;
        try (BbrFixture bbr = BbrFixture.start(Transport.IN_PROCESS, "--config-text=" + config,
                mapFile(ADAPTER + ": " + BASE + "\n"))) {
            byte[] body = utf8("{\"model\":\"" + ADAPTER + "\",\"service_tier\":\"flex\",\"prompt\":\"hi\"}");
            Exchange x = fullDuplex(bbr, body, 10);
            assertEquals("flex", x.set("x-service-tier"));
            assertEquals(ADAPTER, x.set(MODEL_HEADER));
            assertEquals(BASE, x.set(BASE_HEADER));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BbrFixture.start(
                Transport.IN_PROCESS, "--config-text=plugins:\n- type: body-field-to-header\n  parameters: "
                        + "{field: model}\n"));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("field"), e.getMessage());
    }

    private static String route(BbrFixture bbr, byte[] body) {
        try {
            return fullDuplex(bbr, body, 1000).set(BASE_HEADER);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String text(BbrFixture bbr) {
        try {
            return bbr.metricsText();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
