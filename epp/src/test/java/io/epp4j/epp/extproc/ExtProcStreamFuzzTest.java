package io.epp4j.epp.extproc;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProtocolConfiguration;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Status;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.junit.jupiter.api.AfterAll;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Jazzer drives the real ext_proc service in-process with any sequence of gateway messages: request and response
 * headers, bodies and trailers in any order, end_of_stream repeated or missing, random protocol configs, huge
 * headers, garbage decoded as a {@code ProcessingRequest}, and a stream that ends by half-close or by cancel.
 * Whatever arrives, every answer is a well-formed ext_proc response (an immediate response carries a 4xx/5xx
 * status and a body), the EPP ends a half-closed stream promptly (no hang), and once the stream is gone no
 * in-flight slot, no running-request count and no byte of the shared body budget is left behind. One EPP serves
 * every input, as one serves a gateway.
 * Without {@code JAZZER_FUZZ=1} it replays the committed seeds (part of {@code mvn verify}).
 */
class ExtProcStreamFuzzTest {

    private static final String[] ENDPOINTS = {"10.0.0.1:8000", "10.0.0.2:8000"};
    private static final String[] PATHS = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
            "/v1/responses", "/v1/conversations", "/v1/models", "/"};
    private static final Duration PROMPT = Duration.ofSeconds(10);
    private static EppFixture epp;

    private static synchronized EppFixture epp() throws Exception {
        if (epp == null) {
            epp = EppFixture.start(Transport.IN_PROCESS, EppServer.Components.defaults().withoutModelServerMetrics(),
                    "--endpoints=" + String.join(",", ENDPOINTS), "--max-request-body-bytes=64Ki");
        }
        return epp;
    }

    @AfterAll
    static synchronized void stop() {
        if (epp != null) {
            epp.close();
            epp = null;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anyMessageSequenceGetsWellFormedAnswersAndLeavesNothingInFlight(FuzzedDataProvider data) throws Exception {
        EppFixture e = epp();
        GatewayStream s = e.open();
        int messages = data.consumeInt(0, 12);
        for (int i = 0; i < messages && data.remainingBytes() > 0; i++) {
            s.send(message(data, i == 0));
        }
        boolean cancel = data.consumeBoolean();
        if (cancel) {
            s.cancel("fuzz: the client went away");
        } else {
            s.halfClose();
        }
        if (!cancel) {
            Status status = s.awaitClose(); // throws when the EPP never ends a half-closed stream
            assertNotEquals(Status.Code.UNKNOWN, status.getCode(), "the EPP ended the stream with " + status);
        }
        for (ProcessingResponse r; (r = s.poll(Duration.ZERO)) != null; ) {
            wellFormed(r);
        }
        awaitNothingInFlight(e);
    }

    private static ProcessingRequest message(FuzzedDataProvider data, boolean first) {
        Metadata metadata = data.consumeBoolean() ? null : switch (data.consumeInt(0, 2)) {
            case 0 -> Messages.subsetHint(data.consumeBoolean() ? ENDPOINTS[0] : "10.9.9.9:1");
            case 1 -> Messages.served(ENDPOINTS[data.consumeInt(0, 1)]);
            default -> Metadata.getDefaultInstance();
        };
        boolean eos = data.consumeBoolean();
        ProcessingRequest m = switch (data.consumeInt(0, first ? 0 : 8)) {
            case 0 -> Messages.requestHeaders(Dialect.values()[data.consumeInt(0, Dialect.values().length - 1)],
                    headers(data), eos, data.consumeBoolean() ? protocol(data) : null);
            case 1 -> Messages.requestBody(body(data), eos, metadata);
            case 2 -> Messages.requestTrailers();
            case 3 -> Messages.responseHeaders(Dialect.ISTIO, Map.of(":status",
                    Integer.toString(data.consumeInt(100, 599)), "content-type", data.consumeBoolean()
                            ? "text/event-stream" : "application/json"), eos, metadata);
            case 4 -> Messages.responseBody(responseBody(data), eos, metadata);
            case 5 -> Messages.responseTrailers();
            case 6 -> ProcessingRequest.getDefaultInstance();
            default -> garbage(data);
        };
        return m;
    }

    private static Map<String, String> headers(FuzzedDataProvider data) {
        byte[] body = Messages.chatBody("m", false, 10);
        Map<String, String> h = Messages.post(PATHS[data.consumeInt(0, PATHS.length - 1)], body.length);
        int extra = data.consumeInt(0, 3);
        for (int i = 0; i < extra; i++) {
            h.put(data.consumeAsciiString(20).toLowerCase(java.util.Locale.ROOT), data.consumeAsciiString(64));
        }
        if (data.consumeInt(0, 15) == 0) { // huge: many headers, or one very long value
            for (int i = 0; i < 500; i++) {
                h.put("x-fuzz-" + i, "v".repeat(100));
            }
            h.put("x-huge", "h".repeat(data.consumeInt(1, 256 * 1024)));
        }
        return h;
    }

    private static ProtocolConfiguration protocol(FuzzedDataProvider data) {
        BodySendMode[] modes = BodySendMode.values();
        return ProtocolConfiguration.newBuilder()
                .setRequestBodyModeValue(data.consumeInt(0, modes.length))
                .setResponseBodyModeValue(data.consumeInt(0, modes.length))
                .setSendBodyWithoutWaitingForHeaderResponse(data.consumeBoolean()).build();
    }

    private static byte[] body(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> Messages.chatBody(data.consumeBoolean() ? "m" : "", data.consumeBoolean(),
                    data.consumeInt(0, 100_000));
            case 1 -> {
                byte[] whole = Messages.chatBody("m", true, 200);
                int from = data.consumeInt(0, whole.length);
                yield java.util.Arrays.copyOfRange(whole, from, data.consumeInt(from, whole.length));
            }
            default -> data.consumeBytes(data.consumeInt(0, 4096));
        };
    }

    private static byte[] responseBody(FuzzedDataProvider data) {
        if (data.consumeBoolean()) {
            return Messages.utf8("data: {\"model\":\"m\",\"usage\":{\"prompt_tokens\":" + data.consumeInt()
                    + ",\"completion_tokens\":3}}\n\ndata: [DONE]\n\n");
        }
        return data.consumeBytes(data.consumeInt(0, 4096));
    }

    private static ProcessingRequest garbage(FuzzedDataProvider data) {
        try {
            return ProcessingRequest.parseFrom(data.consumeBytes(data.consumeInt(0, 512)));
        } catch (InvalidProtocolBufferException e) {
            return ProcessingRequest.newBuilder().setRequestBody(io.envoyproxy.envoy.service.ext_proc.v3.HttpBody
                    .newBuilder().setBody(ByteString.copyFromUtf8("garbage"))).build();
        }
    }

    private static void wellFormed(ProcessingResponse r) {
        assertNotEquals(ProcessingResponse.ResponseCase.RESPONSE_NOT_SET, r.getResponseCase(), "an answer: " + r);
        if (r.hasImmediateResponse()) {
            int status = r.getImmediateResponse().getStatus().getCodeValue();
            assertTrue(status >= 400 && status <= 599, "an error answer is 4xx/5xx: " + status);
            assertFalse(r.getImmediateResponse().getBody().isEmpty(), "an error answer says why");
        }
    }

    /** Slots are released when the stream's end is processed, which may trail the client's view by a moment. */
    private static void awaitNothingInFlight(EppFixture e) throws InterruptedException {
        long deadline = System.nanoTime() + PROMPT.toNanos();
        Map<String, Integer> left;
        do {
            left = inFlight(e);
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(1);
        } while (System.nanoTime() < deadline);
        fail("left in flight after the stream ended: " + left);
    }

    private static Map<String, Integer> inFlight(EppFixture e) {
        Map<String, Integer> left = new LinkedHashMap<>();
        for (String name : ENDPOINTS) {
            int n = e.server.endpointStore().get(name).inFlightRequests();
            if (n != 0) {
                left.put(name, n);
            }
        }
        if (e.server.openStreams() != 0) {
            left.put("open streams", e.server.openStreams());
        }
        long buffered = e.server.extProcService().limits().bufferedBytes();
        if (buffered != 0) {
            left.put("buffered body bytes", (int) Math.min(Integer.MAX_VALUE, buffered));
        }
        for (MetricSnapshot m : e.server.registry().scrape().stream().toList()) {
            if (m.getMetadata().getName().equals("inference_objective_running_requests")) {
                for (GaugeSnapshot.GaugeDataPointSnapshot p : ((GaugeSnapshot) m).getDataPoints()) {
                    if (p.getValue() != 0) {
                        left.put("running " + p.getLabels(), (int) p.getValue());
                    }
                }
            }
        }
        return left;
    }
}
