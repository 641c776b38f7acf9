package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.epp4j.proto.vllm.GenerateRequest;
import io.epp4j.proto.vllm.TokenizedInput;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.InferenceRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.epp4j.gatewaykit.Messages.fullDuplex;
import static io.epp4j.gatewaykit.Messages.post;
import static io.epp4j.gatewaykit.Messages.requestBodyChunks;
import static io.epp4j.gatewaykit.Messages.requestHeaders;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each request parser through the real ext_proc stream, in-process and over loopback TCP: what scheduling is told
 * (API, model, prompt bytes, stream flag), what the gateway forwards, and the 400s for bodies a parser cannot read.
 */
class RequestParsersExtProcTest {

    private static final String ENDPOINT = "10.0.0.1:8000";
    private static final String GENERATE = "/vllm.grpc.engine.VllmEngine/Generate";

    private static RequestParsers llmd(String... types) {
        return RequestParsers.llmd(Arrays.stream(types).map(t -> new RequestParsers.Declared(t, t)).toList());
    }

    private static EppFixture start(Transport transport, RecordingScheduler scheduler) throws Exception {
        return EppFixture.start(transport, EppServer.Components.defaults().scheduler(c -> scheduler),
                "--endpoints=" + ENDPOINT, "--max-request-body-bytes=4Ki");
    }

    /** A POST of {@code body} in 100-byte frames; returns the pick and the forwarded body. */
    private static Forwarded send(EppFixture epp, String path, byte[] body, String... headers) throws Exception {
        GatewayStream s = epp.open();
        s.send(requestHeaders(Dialect.ISTIO, post(path, body.length, headers), false, fullDuplex()));
        s.send(requestBodyChunks(body, 100, null));
        return Forwarded.read(s);
    }

    /** What the EPP answered one request with: the pick, or an immediate response. */
    record Forwarded(String destination, byte[] body, ImmediateResponse immediate, GatewayStream stream) {

        static Forwarded read(GatewayStream s) throws InterruptedException {
            String destination = null;
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (ProcessingResponse r : s.nextUntilBodyEnd(true)) {
                if (r.hasImmediateResponse()) {
                    return new Forwarded(null, null, r.getImmediateResponse(), s);
                }
                if (r.hasRequestHeaders()) {
                    destination = Dialect.ISTIO.destination(r);
                }
                if (r.hasRequestBody()) {
                    body.writeBytes(r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse()
                            .getBody().toByteArray());
                }
            }
            return new Forwarded(destination, body.toByteArray(), null, s);
        }

        String error() {
            return immediate == null ? "picked " + destination : immediate.getStatus().getCodeValue() + " "
                    + immediate.getBody().toStringUtf8();
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertBadRequest(Forwarded f, String message) {
        assertEquals("400 inference error: BadRequest - " + message, f.error());
    }

    private static void assertBadRequestStartsWith(Forwarded f, String message) {
        assertTrue(f.error().startsWith("400 inference error: BadRequest - " + message), f.error());
    }

    /** {@code message} as one gRPC message: the 5-byte prefix (flag, big-endian length), then the bytes. */
    static byte[] grpcFrame(byte[] message, boolean compressed) {
        return ByteBuffer.allocate(5 + message.length).put((byte) (compressed ? 1 : 0)).putInt(message.length)
                .put(message).array();
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void llmdDefaultsReadOpenAiAnthropicAndVllmHttpAndPassTheRestThrough(Transport transport) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.parsers = llmd(RequestParsers.LLM_D_DEFAULT.toArray(String[]::new));
        try (EppFixture epp = start(transport, scheduler)) {
            byte[] chat = utf8("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            Forwarded f = send(epp, "/v1/chat/completions", chat);
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertArrayEquals(chat, f.body());
            InferenceRequest r = scheduler.scheduled.get(0);
            assertEquals(ApiType.CHAT_COMPLETIONS, r.api());
            assertEquals("[{\"role\":\"user\",\"content\":\"hi\"}]", r.prompt().utf8());

            byte[] messages = utf8("{\"model\":\"claude\",\"system\":\"be brief\",\"stream\":true,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
            f = send(epp, "/v1/messages", messages);
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertArrayEquals(messages, f.body());
            r = scheduler.scheduled.get(1);
            assertEquals(ApiType.MESSAGES, r.api());
            assertEquals("claude", r.model());
            assertTrue(r.stream());
            assertEquals("\"be brief\"[{\"role\":\"user\",\"content\":\"hello\"}]", r.prompt().utf8(),
                    "the system prompt, then the messages: the prefix the server renders");

            byte[] generate = utf8("{\"model\":\"m\",\"token_ids\":[1,2,3],\"cache_salt\":\"tenant-a\"}");
            f = send(epp, "/inference/v1/generate", generate);
            assertEquals(ENDPOINT, f.destination(), f.error());
            r = scheduler.scheduled.get(2);
            assertEquals(ApiType.GENERATE, r.api());
            assertEquals("[1,2,3]", r.prompt().utf8());
            assertArrayEquals(new int[] {1, 2, 3}, r.promptTokenIds(), "the ids, for the precise prefix index");
            assertEquals("tenant-a", r.cacheSalt());

            // any other path: routed at the headers, the body never read, so a body above the limit still passes
            byte[] binary = new byte[10_000];
            Arrays.fill(binary, (byte) 0xFE);
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/audio/transcriptions", binary.length), false,
                    fullDuplex()));
            ProcessingResponse pick = s.next();
            assertTrue(pick.hasRequestHeaders(), "the pick comes before any body was sent: " + pick);
            assertEquals(ENDPOINT, Dialect.ISTIO.destination(pick));
            s.send(requestBodyChunks(binary, 3000, null));
            ByteArrayOutputStream echoed = new ByteArrayOutputStream();
            for (ProcessingResponse r2 : s.nextUntilBodyEnd(true)) {
                echoed.writeBytes(r2.getRequestBody().getResponse().getBodyMutation().getStreamedResponse()
                        .getBody().toByteArray());
            }
            assertArrayEquals(binary, echoed.toByteArray(), "echoed chunk by chunk, unchanged");
            r = scheduler.scheduled.get(3);
            assertEquals(ApiType.OTHER, r.api());
            assertEquals(0, r.prompt().length());
            assertEquals(10_000, r.bodySizeBytes(), "the size comes from content-length");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void badBodiesAre400WithTheParsersMessages(Transport transport) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.parsers = llmd("openai-parser", "anthropic-parser", "vllmhttp-parser", "sglanghttp-parser",
                "vllmgrpc-parser");
        try (EppFixture epp = start(transport, scheduler)) {
            assertBadRequest(send(epp, "/v1/messages", utf8("{\"model\":\"claude\",\"messages\":[]}")),
                    "invalid messages request: must have at least one message");
            assertBadRequest(send(epp, "/v1/messages", utf8("{\"messages\":[{\"role\":\"user\"}]}")),
                    "model not found in request body");
            assertBadRequestStartsWith(send(epp, "/v1/messages", utf8("{\"model\":\"claude\",")),
                    "invalid messages request: Unexpected end-of-input");
            assertBadRequest(send(epp, "/inference/v1/generate", utf8("{\"model\":\"m\",\"token_ids\":[]}")),
                    "invalid generate request: must have non-empty token_ids field");
            assertBadRequest(send(epp, "/inference/v1/generate", utf8("{\"token_ids\":[1,-2]}")),
                    "invalid generate request: token_ids must be an array of uint32 token ids");
            assertBadRequest(send(epp, "/generate", utf8("{\"input_ids\":[1,2],\"extra_key\":5}")),
                    "unsupported generate request: extra_key must be a string");
            assertBadRequest(send(epp, "/generate", utf8("{\"sampling_params\":{}}")),
                    "invalid generate request: input_ids must be provided");
            byte[] message = GenerateRequest.newBuilder().setText("hello").build().toByteArray();
            assertBadRequest(send(epp, GENERATE, grpcFrame(message, true)),
                    "compressed gRPC payload is not supported");
            byte[] truncated = Arrays.copyOf(grpcFrame(message, false), 8);
            assertBadRequest(send(epp, GENERATE, truncated),
                    "incomplete gRPC payload: the prefix announces 7 bytes, but only 3 follow");
            assertBadRequestStartsWith(send(epp, GENERATE, grpcFrame(new byte[] {(byte) 0x1a, 5, 'h'}, false)),
                    "invalid gRPC message: While parsing a protocol message, the input ended unexpectedly");
            assertBadRequest(send(epp, GENERATE, grpcFrame(GenerateRequest.newBuilder().setRequestId("r")
                    .build().toByteArray(), false)),
                    "invalid generate request: must have a non-empty text or tokenized input");
            // no fallback in an explicit list: a path no parser claims is refused at its headers
            GatewayStream s = epp.open();
            s.send(requestHeaders(Dialect.ISTIO, post("/v1/audio/speech", 10), false, fullDuplex()));
            ProcessingResponse r = s.next();
            assertEquals(400, r.getImmediateResponse().getStatus().getCodeValue());
            assertEquals("inference error: BadRequest - no parser registered matching path suffix for: "
                    + "/v1/audio/speech", r.getImmediateResponse().getBody().toStringUtf8());
            assertTrue(scheduler.scheduled.isEmpty(), "nothing was scheduled");
            assertEquals(0, epp.server.endpointStore().get(ENDPOINT).inFlightRequests());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void sglangGenerateReadsInputIdsAndExtraKey(Transport transport) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.parsers = llmd("openai-parser", "sglanghttp-parser");
        try (EppFixture epp = start(transport, scheduler)) {
            byte[] body = utf8("{\"input_ids\":[7,8,9],\"extra_key\":\"salt\",\"stream\":true}");
            Forwarded f = send(epp, "/generate", body);
            assertEquals(ENDPOINT, f.destination(), f.error());
            InferenceRequest r = scheduler.scheduled.get(0);
            assertEquals(ApiType.GENERATE, r.api());
            assertEquals("", r.model(), "SGLang's /generate names no model");
            assertEquals("[7,8,9]", r.prompt().utf8());
            assertArrayEquals(new int[] {7, 8, 9}, r.promptTokenIds());
            assertEquals("salt", r.cacheSalt());
            assertTrue(r.stream());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void vllmGrpcGenerateIsReadOffTheWireAndStreamsBack(Transport transport) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.parsers = RequestParsers.gaie("vllmgrpc-parser", "vllmgrpc-parser"); // as the chart configures it
        try (EppFixture epp = start(transport, scheduler)) {
            byte[] text = grpcFrame(GenerateRequest.newBuilder().setRequestId("a").setText("The capital of")
                    .setStream(true).build().toByteArray(), false);
            Forwarded f = send(epp, GENERATE, text, "content-type", "application/grpc", "te", "trailers",
                    "x-gateway-model-name-rewrite", "llama-lora");
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertArrayEquals(text, f.body(), "a rewrite target does not touch a gRPC body");
            InferenceRequest r = scheduler.scheduled.get(0);
            assertEquals(ApiType.GENERATE, r.api());
            assertEquals("The capital of", r.prompt().utf8());
            assertEquals(null, r.promptTokenIds(), "text: the token-producer tokenizes it");
            assertTrue(r.stream());
            assertEquals("", r.model());
            assertEquals("llama-lora", r.targetModel(), "the target comes from the rewrite header, as in llm-d");

            // the response: gRPC messages echoed as they come, then the trailers
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put(":status", "200");
            headers.put("content-type", "application/grpc");
            GatewayStream s = f.stream();
            s.send(Messages.responseHeaders(Dialect.ISTIO, headers, false, null));
            assertTrue(s.next().hasResponseHeaders());
            byte[] chunk = grpcFrame(new byte[] {0x0a, 0x02, 0x08, 0x01}, false);
            s.send(Messages.responseBody(chunk, false, null));
            ProcessingResponse echoed = s.next();
            assertArrayEquals(chunk, echoed.getResponseBody().getResponse().getBodyMutation().getStreamedResponse()
                    .getBody().toByteArray(), "not held until the end: a gRPC response is a stream");
            s.halfClose();

            byte[] tokens = grpcFrame(GenerateRequest.newBuilder().setTokenized(TokenizedInput.newBuilder()
                    .setOriginalText("ignored").addAllInputIds(List.of(101, 300, 70000))).build().toByteArray(),
                    false);
            f = send(epp, GENERATE, tokens, "content-type", "application/grpc");
            assertEquals(ENDPOINT, f.destination(), f.error());
            r = scheduler.scheduled.get(1);
            assertEquals(ByteString.copyFrom(new byte[] {101, (byte) 0xac, 0x02, (byte) 0xf0, (byte) 0xa2, 0x04}),
                    ByteString.copyFrom(r.prompt().array(), r.prompt().offset(), r.prompt().length()),
                    "the packed token ids as they lie in the body");
            assertArrayEquals(new int[] {101, 300, 70000}, r.promptTokenIds());
            assertFalse(r.stream());

            // another method of the service: routed without interpreting the body
            f = send(epp, "/vllm.grpc.engine.VllmEngine/HealthCheck", grpcFrame(new byte[0], false));
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertEquals(ApiType.OTHER, scheduler.scheduled.get(2).api());
        }
    }

    /**
     * A Vertex AI request message (ChatCompletionsRequest, RawPredictRequest, StreamRawPredictRequest all have this
     * shape): {@code endpoint} (1), then {@code http_body} (2), a google.api.HttpBody with {@code content_type} (1)
     * and {@code data} (2).
     */
    static byte[] vertexRequest(String json) throws java.io.IOException {
        ByteArrayOutputStream httpBody = new ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream b = com.google.protobuf.CodedOutputStream.newInstance(httpBody);
        b.writeString(1, "application/json");
        b.writeByteArray(2, utf8(json));
        b.flush();
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream m = com.google.protobuf.CodedOutputStream.newInstance(message);
        m.writeString(1, "projects/p/locations/us-central1/endpoints/e");
        m.writeByteArray(2, httpBody.toByteArray());
        m.flush();
        return message.toByteArray();
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void vertexAiReadsTheOpenAiJsonInsideItsGrpcMessage(Transport transport) throws Exception {
        RecordingScheduler scheduler = new RecordingScheduler();
        scheduler.parsers = llmd("vertexai-parser");
        String service = "/google.cloud.aiplatform.v1beta1.PredictionService/";
        try (EppFixture epp = start(transport, scheduler)) {
            byte[] chat = grpcFrame(vertexRequest("{\"model\":\"google/gemma\",\"stream\":true,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"), false);
            Forwarded f = send(epp, service + "ChatCompletions", chat, "content-type", "application/grpc");
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertArrayEquals(chat, f.body(), "the gRPC body is forwarded unchanged");
            InferenceRequest r = scheduler.scheduled.get(0);
            assertEquals(ApiType.CHAT_COMPLETIONS, r.api());
            assertEquals("google/gemma", r.model());
            assertEquals("[{\"role\":\"user\",\"content\":\"Hello\"}]", r.prompt().utf8(),
                    "the messages, as openai-parser gives them to prefix affinity");
            assertTrue(r.stream());

            for (String method : List.of("RawPredict", "StreamRawPredict")) {
                f = send(epp, "/google.cloud.aiplatform.v1.PredictionService/" + method,
                        grpcFrame(vertexRequest("{\"input\":\"Hello from " + method + "\"}"), false));
                assertEquals(ENDPOINT, f.destination(), f.error());
                r = scheduler.scheduled.get(scheduler.scheduled.size() - 1);
                assertEquals(ApiType.RESPONSES, r.api(), method);
                assertEquals("\"Hello from " + method + "\"", r.prompt().utf8());
                assertEquals("", r.model(), "the Vertex endpoint names the deployment");
            }

            // any other method: routed without interpreting the body
            f = send(epp, service + "Predict", grpcFrame(new byte[] {0x0a, 0x01, 'e'}, false));
            assertEquals(ENDPOINT, f.destination(), f.error());
            assertEquals(ApiType.OTHER, scheduler.scheduled.get(scheduler.scheduled.size() - 1).api());

            assertBadRequest(send(epp, service + "ChatCompletions", grpcFrame(vertexRequest("{}"), true)),
                    "compressed gRPC payload is not supported");
            assertBadRequestStartsWith(send(epp, service + "RawPredict", grpcFrame(new byte[] {(byte) 0xFF}, false)),
                    "unmarshaling RawPredictRequest: ");
            assertBadRequest(send(epp, service + "ChatCompletions", grpcFrame(new byte[] {0x0a, 0x01, 'e'}, false)),
                    "ChatCompletionsRequest has no HttpBody");
            assertBadRequest(send(epp, service + "ChatCompletions", grpcFrame(vertexRequest(
                    "{\"model\":\"m\",\"messages\":[]}"), false)),
                    "parsing ChatCompletionsRequest: invalid chat completions request: must have valid messages field");
        }
    }
}
