package io.epp4j.bench.gateway;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.extproc.NoopExtProcServer;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.gatewaykit.Dialect;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewaySimTest {

    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private final HttpClient client = HttpClient.newHttpClient();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final SimFleet fleet;

    GatewaySimTest() throws Exception {
        fleet = SimFleet.start(SimConfig.defaults(MODEL).withLoras(List.of("food-review"), 2).withTimeScale(1000), "pod", 2, 0);
        closeables.add(fleet);
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private NoopExtProcServer epp(String destination) throws Exception {
        NoopExtProcServer s = NoopExtProcServer.start(0, destination);
        closeables.add(s);
        return s;
    }

    private GatewaySim gateway(Pool.Routing routing) throws Exception {
        GatewaySim g = GatewaySim.start(0, Map.of(MODEL, MODEL, "food-review", MODEL),
                List.of(new Pool("qwen", MODEL, fleet.addresses(), routing)));
        closeables.add(g);
        return g;
    }

    private HttpResponse<String> chat(GatewaySim g, String model, boolean stream) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(40_000) + "\"}]}";
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/v1/chat/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String value(HeaderValue h) {
        return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
    }

    @Test
    void speaksAgentgatewaysMessageSequenceAndRoutesToTheChosenEndpoint() throws Exception {
        String chosen = fleet.addresses().get(1);
        NoopExtProcServer epp = epp(chosen);
        epp.recordMessages(true);
        GatewaySim g = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY));

        HttpResponse<String> r = chat(g, MODEL, true);

        assertEquals(200, r.statusCode());
        assertEquals("pod-1", r.headers().firstValue("x-inference-pod").orElseThrow());
        assertTrue(r.body().endsWith("data: [DONE]\n\n"), "the SSE stream came back through the EPP");
        List<ProcessingRequest> msgs = epp.recorded().get(0);
        ProcessingRequest first = msgs.get(0);
        assertTrue(first.hasRequestHeaders());
        assertFalse(first.getRequestHeaders().getEndOfStream());
        assertEquals(ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED, first.getProtocolConfig().getRequestBodyMode());
        assertEquals(ProcessingMode.BodySendMode.FULL_DUPLEX_STREAMED, first.getProtocolConfig().getResponseBodyMode());
        List<HeaderValue> headers = first.getRequestHeaders().getHeaders().getHeadersList();
        List<String> lastFour = headers.subList(headers.size() - 4, headers.size()).stream().map(HeaderValue::getKey).toList();
        assertEquals(List.of(":method", ":scheme", ":authority", ":path"), lastFour, "pseudo-headers come last");
        for (HeaderValue h : headers) {
            if (h.getKey().startsWith(":")) {
                assertTrue(h.getRawValue().isEmpty() && !h.getValue().isEmpty(), "pseudo-header in value: " + h.getKey());
            } else {
                assertTrue(h.getValue().isEmpty() && !h.getRawValue().isEmpty(), "ordinary header in raw_value: " + h.getKey());
            }
        }
        assertTrue(headers.stream().anyMatch(h -> h.getKey().equals("x-gateway-base-model-name") && value(h).equals(MODEL)));
        int i = 1;
        int bodyChunks = 0;
        while (msgs.get(i).hasRequestBody()) {
            bodyChunks++;
            if (msgs.get(i).getRequestBody().getEndOfStream()) {
                i++;
                break;
            }
            i++;
        }
        assertTrue(bodyChunks > 1, "a 40 KB body goes out in several frames");
        assertFalse(msgs.get(1).hasProtocolConfig(), "protocol_config only on the first message");
        ProcessingRequest respHeaders = msgs.get(i);
        assertTrue(respHeaders.hasResponseHeaders());
        HeaderValue status = respHeaders.getResponseHeaders().getHeaders().getHeadersList().stream()
                .filter(h -> h.getKey().equals(":status")).findFirst().orElseThrow();
        assertEquals("200", status.getValue());
        assertEquals(chosen, respHeaders.getMetadataContext().getFilterMetadataOrThrow("envoy.lb")
                .getFieldsOrThrow("x-gateway-destination-endpoint-served").getStringValue());
        assertTrue(msgs.get(msgs.size() - 1).hasResponseBody());
        assertTrue(msgs.get(msgs.size() - 1).getResponseBody().getEndOfStream());
    }

    @Test
    void concurrentRequestsToOneBusyPodAreAllForwardedWithoutWaitingForEachOther() throws Exception {
        // A pod that answers nothing until all requests have arrived: with a per-upstream connection or thread
        // cap in the proxy below 64, the later requests would queue in the gateway and never reach it.
        int requests = 64;
        CountDownLatch arrived = new CountDownLatch(requests);
        CountDownLatch release = new CountDownLatch(1);
        HttpServer pod = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), requests);
        ExecutorService podThreads = Executors.newCachedThreadPool();
        pod.setExecutor(podThreads);
        pod.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            arrived.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] b = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        pod.start();
        closeables.add(() -> {
            release.countDown();
            pod.stop(0);
            podThreads.shutdownNow();
        });
        String podAddress = "127.0.0.1:" + pod.getAddress().getPort();
        NoopExtProcServer epp = epp(podAddress);
        GatewaySim g = GatewaySim.start(0, Map.of(MODEL, MODEL), List.of(new Pool("one", MODEL, List.of(podAddress),
                new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY))));
        closeables.add(g);

        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"hello\",\"max_tokens\":1}";
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            responses.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + "/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }

        assertTrue(arrived.await(60, TimeUnit.SECONDS),
                "all requests reach the pod while none has been answered; missing: " + arrived.getCount());
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> r : responses) {
            assertEquals(200, r.get(60, TimeUnit.SECONDS).statusCode());
        }
        assertEquals(Map.of(podAddress, (long) requests), g.servedByEndpoint());
    }

    @Test
    void commaSeparatedDestinationIsAnInvalidAddressForAgentgateway() throws Exception {
        NoopExtProcServer epp = epp(String.join(",", fleet.addresses()));
        GatewaySim g = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY));
        HttpResponse<String> r = chat(g, MODEL, false);
        assertEquals(503, r.statusCode());
        assertTrue(r.body().contains("EPP returned invalid address"));
    }

    @Test
    void istioReadsTheMetadataAndUsesTheFirstOfAList() throws Exception {
        NoopExtProcServer epp = epp(fleet.addresses().get(1) + "," + fleet.addresses().get(0));
        epp.recordMessages(true);
        GatewaySim g = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.ISTIO));
        HttpResponse<String> r = chat(g, "food-review", false);
        assertEquals(200, r.statusCode());
        assertEquals("pod-1", r.headers().firstValue("x-inference-pod").orElseThrow());
        List<HeaderValue> headers = epp.recorded().get(0).get(0).getRequestHeaders().getHeaders().getHeadersList();
        assertEquals(":method", headers.get(0).getKey(), "Envoy puts pseudo-headers first");
        assertTrue(headers.stream().allMatch(h -> h.getValue().isEmpty()), "Envoy sends every value in raw_value");
    }

    @Test
    void destinationOutsideThePoolIsRefusedInValidatedMode() throws Exception {
        NoopExtProcServer epp = epp("127.0.0.1:1");
        GatewaySim g = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY));
        assertEquals(503, chat(g, MODEL, false).statusCode());
    }

    @Test
    void everyErrorTheGatewayAnswersItselfNamesItsCause() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String gone = "127.0.0.1:" + closedPort;
        GatewaySim g = GatewaySim.start(0, Map.of(MODEL, MODEL), List.of(new Pool("qwen", MODEL, List.of(gone),
                new Pool.Balanced(Pool.Policy.ROUND_ROBIN, 1))));
        closeables.add(g);
        HttpResponse<String> refused = chat(g, MODEL, false);
        assertEquals(503, refused.statusCode());
        assertEquals("upstream-connect", refused.headers().firstValue(GatewaySim.CAUSE_HEADER).orElseThrow());
        assertTrue(refused.body().contains(gone), refused.body());
        assertTrue(refused.headers().firstValue("x-inference-pod").isEmpty(), "no pod answered");

        NoopExtProcServer epp = epp("127.0.0.1:1");
        GatewaySim viaEpp = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY));
        HttpResponse<String> outside = chat(viaEpp, MODEL, false);
        assertEquals(503, outside.statusCode());
        assertEquals("epp-invalid-destination",
                outside.headers().firstValue(GatewaySim.CAUSE_HEADER).orElseThrow());
        assertEquals(Map.of(GatewaySim.Cause.UPSTREAM_CONNECT, 1L), g.errorsByCause());
        assertEquals(Map.of(GatewaySim.Cause.EPP_INVALID_DESTINATION, 1L), viaEpp.errorsByCause());
        assertTrue(chat(viaEpp, "gpt-4o", false).headers().firstValue(GatewaySim.CAUSE_HEADER)
                .filter("no-route"::equals).isPresent());
    }

    @Test
    void unknownModelGetsAnOpenAiStyle404() throws Exception {
        NoopExtProcServer epp = epp(fleet.addresses().get(0));
        GatewaySim g = gateway(new Pool.ViaEpp("127.0.0.1", epp.port(), false, Dialect.AGENTGATEWAY));
        HttpResponse<String> r = chat(g, "gpt-4o", false);
        assertEquals(404, r.statusCode());
        Map<?, ?> error = (Map<?, ?>) Json.parseObject(r.body()).get("error");
        assertTrue(((String) error.get("message")).contains("gpt-4o"));
        assertEquals(0, epp.streams(), "no route, so no ext_proc call");
    }

    @Test
    void roundRobinWithoutAnEppVisitsEveryEndpoint() throws Exception {
        GatewaySim g = gateway(new Pool.Balanced(Pool.Policy.ROUND_ROBIN, 1));
        Set<String> pods = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            pods.add(chat(g, MODEL, false).headers().firstValue("x-inference-pod").orElseThrow());
        }
        assertEquals(Set.of("pod-0", "pod-1"), pods);
        assertEquals(Map.of(fleet.addresses().get(0), 2L, fleet.addresses().get(1), 2L), g.servedByEndpoint());
    }
}
