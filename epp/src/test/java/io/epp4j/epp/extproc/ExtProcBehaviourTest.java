package io.epp4j.epp.extproc;


import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.epp4j.gatewaykit.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

/** Error codes, subset hints, trailers, cancellation, model rewrites and the non-duplex body modes. */
class ExtProcBehaviourTest {

    private static ImmediateResponse immediate(EppFixture epp, String path, byte[] body,
                                               io.envoyproxy.envoy.config.core.v3.Metadata metadata,
                                               String... headers) throws Exception {
        GatewayStream s = epp.open();
        s.send(requestHeaders(Dialect.ISTIO, post(path, body.length, headers), false, fullDuplex()));
        s.send(requestBodyChunks(body, 1000, metadata));
        ProcessingResponse r = s.next();
        assertTrue(r.hasImmediateResponse(), "want an ImmediateResponse, got " + r);
        assertEquals(Status.Code.OK, s.awaitClose().getCode(), "the EPP ends the stream cleanly");
        return r.getImmediateResponse();
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
                Arguments.of("/v1/chat/completions", "not json", "error unmarshaling request body"),
                Arguments.of("/v1/chat/completions", "[1,2]", "error unmarshaling request body"),
                Arguments.of("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[]} trailing",
                        "error unmarshaling request body"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\"}]}",
                        "model not found in request body"),
                Arguments.of("/v1/chat/completions", "{\"model\":7,\"messages\":[{\"role\":\"user\"}]}",
                        "model not found in request body"),
                Arguments.of("/v1/chat/completions", "{\"model\":\"m\"}",
                        "invalid chat completions request: must have valid messages field"),
                Arguments.of("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[ ]}",
                        "invalid chat completions request: must have valid messages field"),
                Arguments.of("/v1/completions", "{\"model\":\"m\",\"prompt\":\"\"}",
                        "invalid completions request: must have a non-empty prompt field"),
                Arguments.of("/v1/responses", "{\"model\":\"m\",\"input\":null}",
                        "invalid responses request: must have input field"),
                Arguments.of("/v1/embeddings", "{\"model\":\"m\"}",
                        "invalid embeddings request: must have input field"),
                Arguments.of("/v1/conversations", "{\"model\":\"m\",\"items\":[]}",
                        "invalid conversations request: must have valid items field"));
    }

    @ParameterizedTest
    @MethodSource("badRequests")
    void badBodiesAre400WithGaieMessages(String path, String body, String message) throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            ImmediateResponse r = immediate(epp, path, utf8(body), null);
            assertEquals(400, r.getStatus().getCodeValue());
            assertTrue(r.getBody().toStringUtf8().startsWith("inference error: BadRequest - " + message),
                    r.getBody().toStringUtf8());
            assertEquals(0, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
        }
    }

    @Test
    void requestHeadersSentTwiceAre400AndTheFirstDecisionsSlotIsReleased() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", chatBody("m", false, 10), 1000, null);
            assertTrue(s.next().hasRequestHeaders());
            s.nextUntilBodyEnd(true);
            assertEquals(1, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/chat/completions", 0), true, null));
            ProcessingResponse r = s.next();
            assertEquals(400, r.getImmediateResponse().getStatus().getCodeValue(), r.toString());
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
            Await.until("the slot is released", () -> epp.server.endpointStore().get("10.0.0.1:8000")
                    .inFlightRequests() == 0);
        }
    }

    @Test
    void aDecisionAfterTheResponseAlreadyEndedReleasesItsSlot() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/chat/completions", body.length), false,
                    mode(BodySendMode.BUFFERED_PARTIAL, BodySendMode.STREAMED)));
            assertTrue(s.next().hasRequestHeaders());
            // out of order: the response ends before the request body arrives, then the body is decided
            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200"), true, null));
            s.send(requestBody(body, true, null));
            s.halfClose();
            Status closed = s.awaitClose();
            assertNotNull(closed);
            Await.until("no slot is left held", () -> epp.server.endpointStore().get("10.0.0.1:8000")
                    .inFlightRequests() == 0);
        }
    }

    @Test
    void bodiesThatArriveAfterTheResponseEndedKeepNothingOfTheBodyBudget() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 100_000);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body, fullDuplex());
            // out of order: the response ends first, then body bytes of both directions arrive, none ending
            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "application/json"), true,
                    null));
            assertTrue(s.next().hasResponseHeaders());
            s.send(responseBody(new byte[64 * 1024], false, null));
            s.send(requestBody(java.util.Arrays.copyOf(body, 50_000), false, null));
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode()); // the EPP read every message before it ended
            assertEquals(0, epp.server.extProcService().limits().bufferedBytes(), "no body byte left reserved");
        }
    }

    @Test
    void bodiesAboveTheLimitAre413() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000",
                "--max-request-body-bytes=2Ki")) {
            ImmediateResponse r = immediate(epp, "/v1/chat/completions", chatBody("m", false, 5000), null);
            assertEquals(413, r.getStatus().getCodeValue());
            assertEquals("inference error: PayloadTooLarge - request body exceeds 2048 bytes",
                    r.getBody().toStringUtf8());
        }
    }

    @Test
    void schedulingFailureIs429AndAdmissionDenialIs429() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler), "--endpoints=10.0.0.1:8000")) {
            scheduler.schedulingFailure = "every endpoint was filtered out";
            ImmediateResponse r = immediate(epp, "/v1/chat/completions", chatBody("m", false, 10), null);
            assertEquals(429, r.getStatus().getCodeValue());
            assertEquals("inference error: ResourceExhausted - failed to find target endpoint: every endpoint was "
                    + "filtered out", r.getBody().toStringUtf8());

            scheduler.schedulingFailure = null;
            scheduler.admissionDenial = "system saturated, sheddable request dropped";
            r = immediate(epp, "/v1/chat/completions", chatBody("m", false, 10), null);
            assertEquals(429, r.getStatus().getCodeValue());
            assertEquals("inference error: ResourceExhausted - system saturated, sheddable request dropped",
                    r.getBody().toStringUtf8());
            assertTrue(scheduler.completions.isEmpty(), "nothing was scheduled, so nothing completes");
        }
    }

    @Test
    void schedulerCrashIs500() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.crash = new IllegalStateException("boom");
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler), "--endpoints=10.0.0.1:8000")) {
            ImmediateResponse r = immediate(epp, "/v1/chat/completions", chatBody("m", false, 10), null);
            assertEquals(500, r.getStatus().getCodeValue());
            assertTrue(r.getBody().toStringUtf8().startsWith("inference error: Internal - "));
        }
    }

    @Test
    void noEndpointsIs503() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=")) {
            ImmediateResponse r = immediate(epp, "/v1/chat/completions", chatBody("m", false, 10), null);
            assertEquals(503, r.getStatus().getCodeValue());
            assertEquals("inference error: ServiceUnavailable - failed to find endpoint candidates for serving the "
                    + "request", r.getBody().toStringUtf8());
        }
    }

    @Test
    void subsetHintNarrowsCandidatesByIp() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler),
                "--endpoints=10.0.0.1:8000,10.0.0.2:8000,10.0.0.2:8001,10.0.0.3:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body, fullDuplex());
            // the port in the hint is ignored: both ranks of 10.0.0.2 stay candidates
            s.send(requestBodyChunks(body, 1000, subsetHint("10.0.0.2:9999", "10.9.9.9:8000")));
            assertEquals("10.0.0.2:8000", setHeader(s.next().getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));
            s.cancel();
        }
    }

    @Test
    void emptyOrUnmatchedSubsetHintIs503UnlessTheFilterIsDisabled() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            assertEquals(503, immediate(epp, "/v1/chat/completions", chatBody("m", false, 10), subsetHint())
                    .getStatus().getCodeValue());
            assertEquals(503, immediate(epp, "/v1/chat/completions", chatBody("m", false, 10),
                    subsetHint("10.0.0.9:8000")).getStatus().getCodeValue());
        }
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000",
                "--disable-endpoint-subset-filter")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, subsetHint());
            assertTrue(s.next().hasRequestHeaders());
            s.cancel();
        }
    }

    @Test
    void requestAndResponseTrailersAreAnswered() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler), "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body, fullDuplex());
            s.send(requestBody(body, false, null), requestTrailers());
            assertTrue(s.next().hasRequestHeaders());
            ProcessingResponse chunk = s.next();
            var streamed = chunk.getRequestBody().getResponse().getBodyMutation().getStreamedResponse();
            assertArrayEquals(body, streamed.getBody().toByteArray());
            assertFalse(streamed.getEndOfStream(), "trailers follow, so the body does not end the stream");
            assertTrue(s.next().hasRequestTrailers());

            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "application/grpc"),
                    false, null));
            assertTrue(s.next().hasResponseHeaders());
            s.send(responseBody(utf8("payload"), false, null), responseTrailers());
            ProcessingResponse flushed = s.next();
            assertEquals("payload", flushed.getResponseBody().getResponse().getBodyMutation().getStreamedResponse()
                    .getBody().toStringUtf8());
            assertTrue(s.next().hasResponseTrailers());
            s.halfClose();
            s.awaitClose();
            Await.until("completion", () -> scheduler.completions.size() == 1);
            assertTrue(scheduler.completions.get(0).success());
        }
    }

    @Test
    void cancelMidBodyLeavesNothingInFlight() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.TCP,
                EppServer.Components.defaults().scheduler(c -> scheduler), "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10_000);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body, fullDuplex());
            s.send(requestBody(java.util.Arrays.copyOf(body, 5000), false, null));
            s.cancel();
            Await.until("stream closed", () -> epp.server.openStreams() == 0);
            assertTrue(scheduler.scheduled.isEmpty());
            assertEquals(0, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
        }
    }

    @Test
    void cancelAfterSchedulingReleasesTheSlotExactlyOnce() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.TCP,
                EppServer.Components.defaults().scheduler(c -> scheduler), "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", true, 100);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null);
            s.next();
            s.nextUntilBodyEnd(true);
            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "text/event-stream"),
                    false, null));
            s.next();
            assertEquals(1, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
            s.cancel();
            Await.until("released", () -> epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests() == 0);
            Await.until("completed", () -> scheduler.completions.size() == 1);
            assertFalse(scheduler.completions.get(0).success());
            assertEquals(1, scheduler.completionsPerRequest.values().iterator().next().get());
        }
    }

    @Test
    void modelIsRewrittenUpstreamAndBackInTheResponse() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler)
                        .modelRewriter(c -> model -> model.equals("food-review")
                                ? new ModelRewriter.Choice("food-review-canary", "food-review-v2") : null),
                "--endpoints=10.0.0.1:8000")) {
            byte[] body = utf8("{\"model\": \"food-review\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 7, null);
            var mutation = s.next().getRequestHeaders().getResponse().getHeaderMutation();
            byte[] upstream = streamedBody(s.nextUntilBodyEnd(true), true);
            String expected = "{\"model\": \"food-review-v2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            assertEquals(expected, new String(upstream, java.nio.charset.StandardCharsets.UTF_8));
            assertEquals(Integer.toString(upstream.length), setHeader(mutation, "content-length"));
            assertEquals("food-review", scheduler.scheduled.get(0).model());
            assertEquals("food-review-v2", scheduler.scheduled.get(0).targetModel());
            assertTrue(epp.metricsText().contains("inference_extension_model_rewrite_decisions_total{"
                    + "model_name=\"food-review\",model_rewrite_name=\"food-review-canary\","
                    + "target_model=\"food-review-v2\"} 1"), "one decision counted, by rule and models");

            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "application/json"),
                    false, null));
            s.next();
            s.send(responseBody(utf8("{\"model\":\"food-review-v2\",\"choices\":[]}"), true, null));
            assertEquals("{\"model\":\"food-review\",\"choices\":[]}",
                    new String(streamedBody(s.nextUntilBodyEnd(false), false),
                            java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void llmdHeaderNamesAreReadFirstAndRemovedUpstreamToo() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler)
                        .objectiveResolver(c -> name -> name.equals("batch") ? -1 : name.equals("chat") ? 5 : 0),
                "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("base", false, 10);
            GatewayStream s = epp.post(Dialect.AGENTGATEWAY, "/v1/chat/completions", body, 1000, null,
                    "x-llm-d-model-name-rewrite", "lora-b", "x-llm-d-inference-objective", "chat",
                    "x-gateway-inference-objective", "batch", "x-llm-d-inference-fairness-id", "program-7");
            var mutation = s.next().getRequestHeaders().getResponse().getHeaderMutation();
            assertEquals(List.of("x-gateway-inference-objective", "x-llm-d-inference-fairness-id",
                    "x-llm-d-inference-objective", "x-llm-d-model-name-rewrite"),
                    mutation.getRemoveHeadersList().stream().sorted().toList());
            var request = scheduler.scheduled.get(0);
            assertEquals(5, request.priority(), "llm-d's objective header wins over GAIE's");
            assertEquals("program-7", request.fairnessId());
            assertEquals("lora-b", request.targetModel());
            s.cancel();
        }
    }

    @Test
    void rewriteHeaderWinsAndControlHeadersAreRemovedUpstream() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler)
                        .objectiveResolver(c -> name -> name.equals("batch") ? -1 : 0),
                "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("base", true, 10);
            GatewayStream s = epp.post(Dialect.AGENTGATEWAY, "/v1/chat/completions", body, 1000, null,
                    "x-gateway-model-name-rewrite", "lora-a", "x-gateway-inference-objective", "batch",
                    "x-gateway-inference-fairness-id", "tenant-1");
            var mutation = s.next().getRequestHeaders().getResponse().getHeaderMutation();
            assertEquals(List.of("x-gateway-inference-objective", "x-gateway-inference-fairness-id",
                    "x-gateway-model-name-rewrite").stream().sorted().toList(),
                    mutation.getRemoveHeadersList().stream().sorted().toList());
            String upstream = new String(streamedBody(s.nextUntilBodyEnd(true), true),
                    java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(upstream.startsWith("{\"model\":\"lora-a\""), upstream);
            var request = scheduler.scheduled.get(0);
            assertEquals(-1, request.priority());
            assertEquals("tenant-1", request.fairnessId());
            assertEquals("lora-a", request.targetModel());
            assertFalse(epp.metricsText().contains("inference_extension_model_rewrite_decisions_total{"),
                    "the header is the gateway's choice, not a rewrite rule's: GAIE counts only rules");
            // streamed response chunks are rewritten back one by one
            s.send(responseHeaders(Dialect.AGENTGATEWAY, Map.of(":status", "200", "content-type",
                    "text/event-stream"), false, null));
            s.next();
            s.send(responseBody(utf8("data: {\"model\":\"lora-a\",\"choices\":[]}\n\n"), false, null));
            assertEquals("data: {\"model\":\"base\",\"choices\":[]}\n\n", s.next().getResponseBody().getResponse()
                    .getBodyMutation().getStreamedResponse().getBody().toStringUtf8());
            s.cancel();
        }
    }

    @Test
    void fallbacksGoInTheHeaderOnlyWhenEnabled() throws Exception {
        for (boolean enabled : new boolean[] {false, true}) {
            RecordingScheduler scheduler = new RecordingScheduler();
            scheduler.targets = 2;
            try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                    EppServer.Components.defaults().scheduler(c -> scheduler),
                    "--endpoints=10.0.0.1:8000,10.0.0.2:8000", "--destination-endpoint-fallbacks=" + enabled)) {
                byte[] body = chatBody("m", false, 10);
                GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null);
                ProcessingResponse r = s.next();
                String header = setHeader(r.getRequestHeaders().getResponse().getHeaderMutation(),
                        "x-gateway-destination-endpoint");
                assertEquals(enabled ? "10.0.0.1:8000,10.0.0.2:8000" : "10.0.0.1:8000", header);
                assertEquals(header, destinationMetadata(r));
                s.cancel();
            }
        }
    }

    @Test
    void bufferedModeAnswersHeadersAtOnceAndPutsThePickInTheBodyAnswer() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.chatHeaders(Dialect.ENVOY_AI_GATEWAY, body,
                    mode(BodySendMode.BUFFERED, BodySendMode.BUFFERED));
            ProcessingResponse headers = s.next();
            assertTrue(headers.hasRequestHeaders());
            assertNull(setHeader(headers.getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));
            s.send(requestBody(body, true, null));
            ProcessingResponse bodyAnswer = s.next();
            var common = bodyAnswer.getRequestBody().getResponse();
            assertFalse(common.getBodyMutation().hasStreamedResponse(), "no streamed_response outside full duplex");
            assertEquals("10.0.0.1:8000", setHeader(common.getHeaderMutation(), "x-gateway-destination-endpoint"));
            assertTrue(common.getClearRouteCache());
            assertEquals("10.0.0.1:8000", destinationMetadata(bodyAnswer));
            s.send(responseHeaders(Dialect.ENVOY_AI_GATEWAY, Map.of(":status", "200"), false, null));
            assertTrue(s.next().hasResponseHeaders());
            s.send(responseBody(utf8("{\"usage\":{\"prompt_tokens\":1}}"), true, null));
            var responseAnswer = s.next().getResponseBody().getResponse();
            assertFalse(responseAnswer.hasBodyMutation(), "unchanged body: plain CONTINUE");
            s.halfClose();
            s.awaitClose();
        }
    }

    @Test
    void streamedModePicksWithoutTheBodyAndContinuesEachChunk() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body,
                    mode(BodySendMode.STREAMED, BodySendMode.STREAMED));
            assertEquals("10.0.0.1:8000", setHeader(s.next().getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));
            s.send(requestBody(body, false, null), requestBody(new byte[0], true, null));
            assertTrue(s.next().hasRequestBody());
            ProcessingResponse second = s.next();
            assertTrue(second.hasRequestBody());
            assertFalse(second.getRequestBody().getResponse().hasBodyMutation());
            s.cancel();
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void immediateResponsesAlwaysCarryAStatus(Transport transport) throws Exception {
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=")) {
            ImmediateResponse r = immediate(epp, "/v1/completions", utf8("{\"model\":\"m\",\"prompt\":\"x\"}"),
                    null);
            assertTrue(r.hasStatus());
            assertEquals(503, r.getStatus().getCodeValue());
        }
    }

    @Test
    void observabilityModeGetsNoAnswers() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/chat/completions", body.length), false, fullDuplex())
                    .toBuilder().setObservabilityMode(true).build());
            s.send(requestBodyChunks(body, 1000, null));
            assertNull(s.poll(java.time.Duration.ofMillis(200)), "the gateway ignores answers in observability mode");
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
        }
    }

    @Test
    void streamedModeWithBodyFirstDefersThePickToTheBodyEnd() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS,
                EppServer.Components.defaults().scheduler(c -> scheduler)
                        .modelRewriter(c -> m -> m.equals("a") ? new ModelRewriter.Choice("a-rule", "a-v2") : null),
                "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("a", false, 10);
            GatewayStream s = epp.chatHeaders(Dialect.ISTIO, body,
                    mode(BodySendMode.STREAMED, BodySendMode.STREAMED).toBuilder()
                            .setSendBodyWithoutWaitingForHeaderResponse(true).build());
            s.send(requestBody(java.util.Arrays.copyOf(body, 20), false, null),
                    requestBody(java.util.Arrays.copyOfRange(body, 20, body.length), true, null));
            ProcessingResponse headers = s.next();
            assertEquals("10.0.0.1:8000", setHeader(headers.getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));
            var first = s.next().getRequestBody().getResponse().getBodyMutation();
            assertTrue(first.getBody().toStringUtf8().startsWith("{\"model\":\"a-v2\""));
            assertTrue(s.next().getRequestBody().getResponse().getBodyMutation().getClearBody());
            assertEquals("a", scheduler.scheduled.get(0).model());
            s.cancel();
        }
    }
}
