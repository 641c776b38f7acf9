package io.epp4j.epp.extproc;


import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.epp4j.gatewaykit.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Replays each gateway's message sequence (gateways.md §1.6, §2.5) against a real EPP over every transport and
 * checks what the gateway relies on.
 */
class GatewayReplayTest {

    static Stream<Arguments> transportsAndProfiles() {
        List<Arguments> out = new ArrayList<>();
        for (Transport t : Transport.values()) {
            for (Dialect p : Dialect.values()) {
                out.add(Arguments.of(t, p));
            }
        }
        return out.stream();
    }

    private static Map<String, String> sseHeaders() {
        return Map.of(":status", "200", "content-type", "text/event-stream");
    }

    private static Map<String, String> jsonHeaders() {
        return Map.of(":status", "200", "content-type", "application/json");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transportsAndProfiles")
    void nonStreamingChatIsScheduledEchoedAndAccounted(Transport transport, Dialect profile) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(transport, EppServer.Components.defaults().scheduler(c -> scheduler),
                "--endpoints=10.0.0.1:8000,10.0.0.2:8000")) {
            byte[] body = chatBody("llama", false, 1000);
            var served = profile.responseMetadata("10.0.0.1:8000", "10.0.0.1:8000");
            GatewayStream s = epp.post(profile, "/v1/chat/completions", body, 300, null,
                    "x-gateway-inference-objective", "critical");

            ProcessingResponse headers = s.next();
            assertTrue(headers.hasRequestHeaders(), "headers answer first: " + headers);
            CommonResponse common = headers.getRequestHeaders().getResponse();
            assertTrue(common.getClearRouteCache());
            assertEquals("10.0.0.1:8000", setHeader(common.getHeaderMutation(), "x-gateway-destination-endpoint"));
            assertEquals("10.0.0.1:8000", destinationMetadata(headers));
            assertEquals(Integer.toString(body.length), setHeader(common.getHeaderMutation(), "content-length"));
            assertNotNull(setHeader(common.getHeaderMutation(), "x-request-id"), "generated x-request-id");
            assertTrue(common.getHeaderMutation().getRemoveHeadersList().contains("x-gateway-inference-objective"));
            assertArrayEquals(body, streamedBody(s.nextUntilBodyEnd(true), true));
            assertEquals(1, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());

            String response = "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"llama\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
                    + "\"prompt_tokens_details\":{\"cached_tokens\":8}}}";
            s.send(responseHeaders(profile, jsonHeaders(), false, served));
            ProcessingResponse respHeaders = s.next();
            assertTrue(respHeaders.hasResponseHeaders());
            assertEquals("true", setHeader(respHeaders.getResponseHeaders().getResponse().getHeaderMutation(),
                    "x-went-into-resp-headers"));
            byte[] responseBytes = utf8(response);
            s.send(responseBody(java.util.Arrays.copyOfRange(responseBytes, 0, 40), false, served));
            assertNull(s.poll(Duration.ofMillis(50)), "a non-streaming body is held until its end");
            s.send(responseBody(java.util.Arrays.copyOfRange(responseBytes, 40, responseBytes.length), true, served));
            assertArrayEquals(responseBytes, streamedBody(s.nextUntilBodyEnd(false), false));
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());

            Await.until("completion", () -> scheduler.completions.size() == 1);
            var done = scheduler.completions.get(0);
            assertTrue(done.success());
            assertEquals(12, done.usage().promptTokens());
            assertEquals(5, done.usage().completionTokens());
            assertEquals(8, done.usage().cachedTokens());
            assertEquals(0, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
            assertEquals("critical", scheduler.scheduled.get(0).header("x-gateway-inference-objective"));
            assertEquals("/v1/chat/completions", scheduler.scheduled.get(0).header(":path"));
            assertEquals(1, scheduler.picked.get());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transportsAndProfiles")
    void streamingChatEchoesEachChunkAtOnceAndReadsSseUsage(Transport transport, Dialect profile)
            throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(transport, EppServer.Components.defaults().scheduler(c -> scheduler),
                "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("llama", true, 200);
            GatewayStream s = epp.open();
            s.send(requestHeaders(profile, post("/v1/chat/completions", body.length, "x-request-id", "req-1"),
                    false, fullDuplex()));
            s.send(requestBody(body, false, null), requestBody(new byte[0], true, null)); // agentgateway's empty EoS
            ProcessingResponse headers = s.next();
            assertNull(setHeader(headers.getRequestHeaders().getResponse().getHeaderMutation(), "x-request-id"),
                    "an existing x-request-id is kept, not set");
            assertArrayEquals(body, streamedBody(s.nextUntilBodyEnd(true), true));

            s.send(responseHeaders(profile, sseHeaders(), false, null));
            assertTrue(s.next().hasResponseHeaders());
            String[] events = {
                "data: {\"object\":\"chat.completion.chunk\",\"model\":\"llama\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n",
                "data: {\"object\":\"chat.completion.chunk\",\"model\":\"llama\",\"choices\":[],\"usage\":{\"prompt_",
                "tokens\":30,\"completion_tokens\":2,\"total_tokens\":32,\"prompt_tokens_details\":{\"cached_tokens\":16}}}\n\n",
                "data: [DONE]\n\n"};
            for (String event : events) {
                s.send(responseBody(utf8(event), false, null));
                ProcessingResponse echoed = s.next();
                var streamed = echoed.getResponseBody().getResponse().getBodyMutation().getStreamedResponse();
                assertEquals(event, streamed.getBody().toStringUtf8());
                assertFalse(streamed.getEndOfStream());
            }
            s.send(responseBody(new byte[0], true, null));
            var last = s.next().getResponseBody().getResponse().getBodyMutation().getStreamedResponse();
            assertTrue(last.getEndOfStream());
            assertEquals(0, last.getBody().size());
            s.halfClose();
            s.awaitClose();
            Await.until("completion", () -> scheduler.completions.size() == 1);
            assertEquals(30, scheduler.completions.get(0).usage().promptTokens());
            assertEquals(16, scheduler.completions.get(0).usage().cachedTokens());
            assertEquals("req-1", scheduler.scheduled.get(0).requestId());
            assertTrue(scheduler.scheduled.get(0).stream());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transportsAndProfiles")
    void headerOnlyGetIsAnsweredAtOnce(Transport transport, Dialect profile) throws Exception {
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=10.0.0.7:8000")) {
            GatewayStream s = epp.open();
            s.send(requestHeaders(profile, Map.of(":method", "GET", ":path", "/v1/models", ":authority", "gw"),
                    true, fullDuplex()));
            ProcessingResponse r = s.next();
            var mutation = r.getRequestHeaders().getResponse().getHeaderMutation();
            assertEquals("10.0.0.7:8000", setHeader(mutation, "x-gateway-destination-endpoint"));
            assertNull(setHeader(mutation, "content-length"));
            assertEquals("10.0.0.7:8000", destinationMetadata(r));
            s.send(responseHeaders(profile, jsonHeaders(), false, null));
            assertTrue(s.next().hasResponseHeaders());
            s.send(responseBody(utf8("{\"data\":[]}"), true, null));
            assertArrayEquals(utf8("{\"data\":[]}"), streamedBody(s.nextUntilBodyEnd(false), false));
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
        }
    }

    @Test
    void headerOnlyRequestWithoutEndpointsIs500() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=")) {
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, Map.of(":method", "GET", ":path", "/v1/models"), true,
                    fullDuplex()));
            var immediate = s.next().getImmediateResponse();
            assertEquals(500, immediate.getStatus().getCodeValue());
            assertEquals("inference error: Internal - no pods available in datastore",
                    immediate.getBody().toStringUtf8());
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
        }
    }

    @Test
    void fourHundredKilobyteBodyIn16KbChunksIsEchoedByteExactIn62000ByteChunks() throws Exception {
        for (Transport transport : Transport.values()) {
            try (EppFixture epp = EppFixture.start(transport, "--endpoints=10.0.0.1:8000")) {
                byte[] body = chatBody("llama", false, 400 * 1024);
                GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 16 * 1024, null);
                ProcessingResponse headers = s.next();
                assertTrue(headers.hasRequestHeaders());
                List<ProcessingResponse> chunks = s.nextUntilBodyEnd(true);
                assertEquals((body.length + 61_999) / 62_000, chunks.size());
                assertArrayEquals(body, streamedBody(chunks, true));
                s.halfClose();
                s.awaitClose();
            }
        }
    }

    @Test
    void emptyBodyWithEndOfStreamYieldsOneEmptyChunkAfterA400() throws Exception {
        // an empty body is not a valid request: answered 400, never scheduled
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/completions", 0), false, fullDuplex()));
            s.send(requestBody(new byte[0], true, null));
            assertEquals(400, s.next().getImmediateResponse().getStatus().getCodeValue());
        }
    }

    @Test
    void twoHundredConcurrentStreamsAreAllAnsweredAndReleased() throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        try (EppFixture epp = EppFixture.start(Transport.TCP, EppServer.Components.defaults().scheduler(c -> scheduler),
                "--endpoints=10.0.0.1:8000")) {
            List<GatewayStream> streams = new ArrayList<>();
            byte[] body = chatBody("llama", false, 2000);
            for (int i = 0; i < 200; i++) {
                GatewayStream s = epp.post(Dialect.AGENTGATEWAY, "/v1/chat/completions", body, 700, null,
                        "x-request-id", "r" + i);
                streams.add(s);
            }
            for (GatewayStream s : streams) {
                assertTrue(s.next().hasRequestHeaders());
                assertArrayEquals(body, streamedBody(s.nextUntilBodyEnd(true), true));
            }
            assertEquals(200, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
            for (GatewayStream s : streams) {
                s.send(responseHeaders(Dialect.AGENTGATEWAY, jsonHeaders(), false, null),
                        responseBody(utf8("{}"), true, null));
            }
            for (GatewayStream s : streams) {
                assertTrue(s.next().hasResponseHeaders());
                s.nextUntilBodyEnd(false);
                s.halfClose();
                s.awaitClose();
            }
            Await.until("all released", () -> epp.server.endpointStore().get("10.0.0.1:8000")
                    .inFlightRequests() == 0);
            assertEquals(200, scheduler.completions.size());
            assertTrue(scheduler.completionsPerRequest.values().stream().allMatch(n -> n.get() == 1));
        }
    }
}
