package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import org.junit.jupiter.api.Test;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.*;

/** The limits an operator sets on what the EPP holds, each answered and counted, over loopback TCP. */
class LimitsTest {

    private static final String POOL = "--endpoints=10.0.0.1:8000,10.0.0.2:8000";

    private static GatewayStream headersOnly(EppFixture epp, int contentLength, String... extraHeaders) {
        return epp.open().send(Messages.requestHeaders(Dialect.ENVOY,
                Messages.post("/v1/chat/completions", contentLength, extraHeaders), false, Messages.fullDuplex()));
    }

    private static GatewayStream chat(EppFixture epp) {
        byte[] body = Messages.chatBody("m", false, 100);
        return epp.post(Dialect.ENVOY, "/v1/chat/completions", body, 4096, null);
    }

    private static ProcessingResponse immediate(GatewayStream stream, int status) throws InterruptedException {
        ProcessingResponse r = stream.next();
        assertTrue(r.hasImmediateResponse(), "want an ImmediateResponse, got " + r);
        assertEquals(status, r.getImmediateResponse().getStatus().getCodeValue());
        return r;
    }

    private static String destination(GatewayStream stream) throws InterruptedException {
        ProcessingResponse r = stream.next();
        assertTrue(r.hasRequestHeaders(), "want the pick, got " + r);
        return Messages.setHeader(r.getRequestHeaders().getResponse().getHeaderMutation(),
                "x-gateway-destination-endpoint");
    }

    private static double metric(EppFixture epp, String series) throws Exception {
        for (String line : epp.metricsText().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    @Test
    void streamBeyondTheLimitIsAnsweredWith429AndASlotFreesWhenAStreamEnds() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-concurrent-streams=2")) {
            GatewayStream first = headersOnly(epp, 10);
            GatewayStream second = headersOnly(epp, 10);
            Await.until("two streams open", () -> epp.server.openStreams() == 2);

            ProcessingResponse refused = immediate(chat(epp), 429);
            assertTrue(refused.getImmediateResponse().getBody().toStringUtf8().contains("--max-concurrent-streams"),
                    refused.toString());
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"streams\"}"));
            assertEquals(2.0, metric(epp, "epp4j_ext_proc_streams"));

            first.cancel();
            Await.until("a slot freed", () -> epp.server.openStreams() == 1);
            assertNotNull(destination(chat(epp)));
            second.cancel();
        }
    }

    @Test
    void tooManyOrTooLargeRequestHeadersAreAnsweredWith431() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-request-header-count=12",
                "--max-request-header-bytes=2Ki")) {
            String[] many = new String[2 * 10];
            for (int i = 0; i < 10; i++) {
                many[2 * i] = "x-extra-" + i;
                many[2 * i + 1] = "v";
            }
            ProcessingResponse count = immediate(headersOnly(epp, 10, many), 431);
            assertTrue(count.getImmediateResponse().getBody().toStringUtf8().contains("--max-request-header-count"));

            ProcessingResponse size = immediate(headersOnly(epp, 10, "x-big", "a".repeat(3000)), 431);
            assertTrue(size.getImmediateResponse().getBody().toStringUtf8().contains("--max-request-header-bytes"));

            assertNotNull(destination(chat(epp)), "ordinary headers pass");
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"header_count\"}"));
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"header_bytes\"}"));
        }
    }

    @Test
    void largeBodiesBeyondTheSharedBudgetGet429WhileSmallRequestsStillPass() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-buffered-body-bytes=4Mi")) {
            ByteString mebibyte = ByteString.copyFrom(new byte[1 << 20]);
            // a large upload that never ends holds 3 MiB of the 4 MiB budget
            GatewayStream holder = headersOnly(epp, 8 << 20);
            for (int i = 0; i < 3; i++) {
                holder.send(Messages.requestBody(mebibyte, false, null));
            }
            Await.until("3 MiB held", () -> epp.server.extProcService().limits().bufferedBytes() >= 3 << 20);

            // a second large body would pass seven eighths of the budget: refused
            GatewayStream second = headersOnly(epp, 2 << 20).send(Messages.requestBody(mebibyte, false, null),
                    Messages.requestBody(mebibyte, false, null));
            ProcessingResponse refused = immediate(second, 429);
            assertTrue(refused.getImmediateResponse().getBody().toStringUtf8().contains("--max-buffered-body-bytes"),
                    refused.toString());

            // small requests use the last eighth kept for them
            assertNotNull(destination(chat(epp)));
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"buffered_body_bytes\"}"));
            assertTrue(metric(epp, "epp4j_buffered_request_body_bytes") >= 3 << 20);

            holder.cancel();
            Await.until("budget given back", () -> epp.server.extProcService().limits().bufferedBytes() == 0);
        }
    }

    /** A non-streamed JSON response of {@code textBytes} text that names the served model {@code m-v2}. */
    private static byte[] servedResponse(int textBytes) {
        return Messages.utf8("{\"model\":\"m-v2\",\"choices\":[{\"text\":\"" + "a".repeat(textBytes)
                + "\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}");
    }

    /** A request picked and its JSON response headers answered: the response body is the test's to send. */
    private static GatewayStream awaitingResponseBody(EppFixture epp, String... responseHeaders)
            throws InterruptedException {
        GatewayStream s = chat(epp);
        assertNotNull(destination(s));
        s.nextUntilBodyEnd(true);
        Map<String, String> headers = new java.util.HashMap<>(Map.of(":status", "200",
                "content-type", "application/json"));
        for (int i = 0; i < responseHeaders.length; i += 2) {
            headers.put(responseHeaders[i], responseHeaders[i + 1]);
        }
        s.send(Messages.responseHeaders(Dialect.ENVOY, headers, false, null));
        assertTrue(s.next().hasResponseHeaders());
        return s;
    }

    /** Response-body answers until {@code bytes} bytes arrived (none with end_of_stream): their bytes. */
    private static byte[] responseBytes(GatewayStream s, int bytes) throws InterruptedException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (out.size() < bytes) {
            ProcessingResponse r = s.next();
            assertTrue(r.hasResponseBody(), "want a response body chunk, got " + r);
            var streamed = r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse();
            assertFalse(streamed.getEndOfStream(), "the response has not ended");
            out.writeBytes(streamed.getBody().toByteArray());
        }
        return out.toByteArray();
    }

    private static String text(byte[] bytes) {
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void heldResponsesShareTheBodyBudgetAndOneThatDoesNotFitIsPassedOnWithItsModelRewritten() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, EppServer.Components.defaults()
                        .modelRewriter(c -> model -> new ModelRewriter.Choice("canary", "m-v2")),
                POOL, "--max-buffered-body-bytes=4Mi")) {
            // a non-streamed response is held to its end to read its usage: 3 MiB of it hold 3 MiB of the budget
            int mebibyte = 1 << 20;
            byte[] large = servedResponse(3 * mebibyte);
            GatewayStream held = awaitingResponseBody(epp);
            for (int i = 0; i < 3; i++) {
                held.send(Messages.responseBody(ByteString.copyFrom(large, i * mebibyte, mebibyte), false, null));
            }
            Await.until("3 MiB held", () -> epp.server.extProcService().limits().bufferedBytes() >= 3 * mebibyte);
            assertNull(held.poll(Duration.ZERO), "nothing of a held response goes on before its end");
            assertTrue(metric(epp, "epp4j_buffered_response_body_bytes") >= 3 * mebibyte);

            // the same budget refuses a large upload now
            ByteString uploadChunk = ByteString.copyFrom(new byte[mebibyte]);
            ProcessingResponse refused = immediate(headersOnly(epp, 2 * mebibyte)
                    .send(Messages.requestBody(uploadChunk, false, null)), 429);
            assertTrue(refused.getImmediateResponse().getBody().toStringUtf8().contains("--max-buffered-body-bytes"),
                    refused.toString());

            // a second large response does not fit: it is passed on as it comes instead of held, rewritten
            byte[] second = servedResponse(2 * mebibyte);
            GatewayStream passed = awaitingResponseBody(epp, "content-length", Integer.toString(second.length));
            passed.send(Messages.responseBody(ByteString.copyFrom(second, 0, mebibyte), false, null));
            byte[] first = responseBytes(passed, mebibyte - 3);
            assertTrue(text(first).startsWith("{\"model\":\"m\",\"choices\""), "rewritten back to the client's model");
            passed.send(Messages.responseBody(ByteString.copyFrom(second, mebibyte, second.length - mebibyte), true,
                    null));
            byte[] rest = Messages.streamedBody(passed.nextUntilBodyEnd(false), false);
            assertEquals(text(second).replace("\"m-v2\"", "\"m\""), text(first) + text(rest));
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"buffered_response_body_bytes\"}"));

            // small requests still pass; the held response ends whole, rewritten, and the budget is all back
            assertNotNull(destination(chat(epp)));
            held.send(Messages.responseBody(ByteString.copyFrom(large, 3 * mebibyte, large.length - 3 * mebibyte),
                    true, null));
            assertEquals(text(large).replace("\"m-v2\"", "\"m\""),
                    text(Messages.streamedBody(held.nextUntilBodyEnd(false), false)));
            Await.until("budget given back", () -> epp.server.extProcService().limits().bufferedBytes() == 0);
            assertEquals(0.0, metric(epp, "epp4j_buffered_response_body_bytes"));
        }
    }

    @Test
    void aHeldResponseGivesItsBytesBackWhenTheStreamIsCancelledOrFails() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-buffered-body-bytes=4Mi")) {
            ByteString chunk = ByteString.copyFrom(servedResponse(1 << 20), 0, 1 << 20);
            GatewayStream cancelled = awaitingResponseBody(epp);
            cancelled.send(Messages.responseBody(chunk, false, null));
            Await.until("held", () -> epp.server.extProcService().limits().bufferedBytes() >= 1 << 20);
            cancelled.cancel();
            Await.until("given back on cancel", () -> epp.server.extProcService().limits().bufferedBytes() == 0);

            GatewayStream failed = awaitingResponseBody(epp);
            failed.send(Messages.responseBody(chunk, false, null));
            Await.until("held", () -> epp.server.extProcService().limits().bufferedBytes() >= 1 << 20);
            failed.send(Messages.requestHeaders(Dialect.ENVOY, Messages.post("/v1/chat/completions", 0), true, null));
            immediate(failed, 400); // request headers sent twice: the stream ends with an error answer
            Await.until("given back on error", () -> epp.server.extProcService().limits().bufferedBytes() == 0);
            Await.until("no request left in flight", () -> epp.server.openStreams() == 0);
        }
    }

    @Test
    void endpointAtItsInFlightLimitLeavesTheCandidatesAndAllAtTheLimitGives429() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-endpoint-in-flight=1")) {
            GatewayStream first = chat(epp);
            String a = destination(first);
            first.nextUntilBodyEnd(true);
            GatewayStream second = chat(epp);
            String b = destination(second);
            assertNotEquals(a, b, "the endpoint at its limit is not picked");
            second.nextUntilBodyEnd(true);

            ProcessingResponse shed = immediate(chat(epp), 429);
            assertTrue(shed.getImmediateResponse().getBody().toStringUtf8().contains("--max-endpoint-in-flight"),
                    shed.toString());
            assertEquals(1.0, metric(epp, "epp4j_limit_rejections_total{limit=\"endpoint_in_flight\"}"));

            first.send(Messages.responseHeaders(Dialect.ENVOY, Map.of(":status", "200"), true, null));
            Await.until("first request ended", () -> epp.server.openStreams() == 1);
            assertEquals(a, destination(chat(epp)), "the endpoint is a candidate again");
            second.cancel();
        }
    }

    /** Remembers the local address of every call's connection (a new address: a new connection). */
    private static final class ConnectionRecorder implements ClientInterceptor {
        final Set<SocketAddress> seen = ConcurrentHashMap.newKeySet();

        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options,
                                                     Channel next) {
            ClientCall<Q, A> call = next.newCall(method, options);
            return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
                @Override
                public void start(Listener<A> listener, Metadata headers) {
                    super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                        @Override
                        public void onHeaders(Metadata h) {
                            SocketAddress local = getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
                            if (local != null) {
                                seen.add(local);
                            }
                            super.onHeaders(h);
                        }
                    }, headers);
                }
            };
        }
    }

    @Test
    void connectionsOlderThanTheMaximumAgeAreReplacedWhileTheirStreamsFinish() throws Exception {
        try (EppFixture epp = EppFixture.start(EppFixture.Transport.TCP, POOL, "--max-connection-age=300ms",
                "--max-connection-age-grace=1m")) {
            ConnectionRecorder recorder = new ConnectionRecorder();
            Channel channel = ClientInterceptors.intercept(epp.channel, recorder);
            byte[] body = Messages.chatBody("m", false, 100);
            GatewayStream old = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", body.length), body, 4096));
            assertNotNull(destination(old));
            Await.until("a request on a new connection", () -> {
                GatewayStream s = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                        Messages.post("/v1/chat/completions", body.length), body, 4096));
                try {
                    destination(s);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                s.cancel();
                return recorder.seen.size() >= 2;
            });
            // the stream opened on the first connection outlived its GOAWAY and still completes
            old.nextUntilBodyEnd(true);
            old.send(Messages.responseHeaders(Dialect.ENVOY, Map.of(":status", "200"), true, null));
            ProcessingResponse last = old.next();
            assertTrue(last.hasResponseHeaders(), last.toString());
        }
    }
}
