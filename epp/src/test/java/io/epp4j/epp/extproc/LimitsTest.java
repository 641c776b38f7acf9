package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
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
