package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.epp4j.gatewaykit.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

/** Where decisions run, and that every stream's answers stay in order while streams of one connection interleave. */
class ExecutionModelTest {

    @Test
    void largeDecisionsRunOnTheDecisionThreadsSmallOnesWhereTheyAreRead() throws Exception {
        record Case(String threads, int bodyBytes, boolean onDecisionThread) {
        }
        for (Case c : List.of(new Case("2", 20_000, true), new Case("2", 100, false), new Case("0", 20_000, false))) {
            RecordingScheduler scheduler = new RecordingScheduler();
            try (EppFixture epp = EppFixture.start(Transport.TCP,
                    EppServer.Components.defaults().scheduler(x -> scheduler), "--endpoints=10.0.0.1:8000",
                    "--decision-threads=" + c.threads())) {
                byte[] body = chatBody("m", false, c.bodyBytes());
                GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 4096, null);
                assertArrayEquals(body, streamedBody(s.nextUntilBodyEnd(true), true));
                s.cancel();
                String thread = scheduler.schedulingThreads.get(0);
                assertEquals(c.onDecisionThread(), thread.startsWith("epp-decision-"), c + " scheduled on " + thread);
            }
        }
    }

    @Test
    void interleavedStreamsOfOneConnectionEachGetTheirAnswersInOrder() throws Exception {
        int streams = 40;
        int events = 25;
        try (EppFixture epp = EppFixture.start(Transport.TCP, "--endpoints=10.0.0.1:8000,10.0.0.2:8000")) {
            ExecutorService gateway = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < streams; i++) {
                    int id = i;
                    done.add(gateway.submit(() -> {
                        byte[] body = chatBody("m" + id, true, 3000 + id);
                        GatewayStream s = epp.post(Dialect.AGENTGATEWAY, "/v1/chat/completions", body, 700, null,
                                "x-request-id", "r" + id);
                        List<ProcessingResponse> request = s.nextUntilBodyEnd(true);
                        assertTrue(request.get(0).hasRequestHeaders(), "the headers answer comes first");
                        assertArrayEquals(body, streamedBody(request, true));
                        s.send(responseHeaders(Dialect.AGENTGATEWAY, Map.of(":status", "200",
                                "content-type", "text/event-stream"), false, served("10.0.0.1:8000")));
                        assertTrue(s.next().hasResponseHeaders());
                        ByteArrayOutputStream sent = new ByteArrayOutputStream();
                        for (int e = 0; e < events; e++) {
                            byte[] event = utf8("data: {\"stream\":" + id + ",\"event\":" + e + "}\n\n");
                            sent.writeBytes(event);
                            s.send(responseBody(event, e == events - 1, served("10.0.0.1:8000")));
                        }
                        assertArrayEquals(sent.toByteArray(), streamedBody(s.nextUntilBodyEnd(false), false),
                                "stream " + id + ": every event echoed, in order");
                        s.halfClose();
                        s.awaitClose();
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                gateway.shutdownNow();
            }
            Await.until("every stream closed", () -> epp.server.openStreams() == 0);
            assertEquals(0, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests()
                    + epp.server.endpointStore().get("10.0.0.2:8000").inFlightRequests());
        }
    }
}
