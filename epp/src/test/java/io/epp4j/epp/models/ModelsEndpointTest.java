package io.epp4j.epp.models;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /v1/models} answered by the EPP from every pod's list: simulated pods serve vLLM-shaped
 * {@code /v1/models} over real HTTP, each with different LoRA adapters loaded.
 */
class ModelsEndpointTest {

    private final List<HttpServer> pods = new ArrayList<>();

    @AfterEach
    void stopPods() {
        pods.forEach(p -> p.stop(0));
    }

    /** A pod listing its base model and {@code adapters} as vLLM does; returns its {@code ip:port}. */
    private String pod(String base, String... adapters) throws IOException {
        StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[{\"id\":\"" + base
                + "\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"vllm\",\"root\":\"" + base
                + "\",\"parent\":null,\"max_model_len\":4096,\"permission\":[{\"id\":\"p\"}]}");
        for (String a : adapters) {
            json.append(",{\"id\":\"").append(a).append("\",\"object\":\"model\",\"created\":1700000001,")
                    .append("\"owned_by\":\"vllm\",\"root\":\"/adapters/").append(a).append("\",\"parent\":\"")
                    .append(base).append("\",\"max_model_len\":null}");
        }
        byte[] body = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/v1/models", ex -> {
            ex.getResponseHeaders().add("content-type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        http.start();
        pods.add(http);
        return "127.0.0.1:" + http.getAddress().getPort();
    }

    private static EndpointInfo endpoint(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return EndpointInfo.ofAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    @Test
    void mergesEveryPodsBaseModelsAndAdaptersSortedAndDeduplicated() throws IOException {
        EndpointStore store = new EndpointStore();
        String a = pod("llama", "sql-lora");
        String b = pod("llama", "chat-lora", "sql-lora");
        store.replaceAll(List.of(endpoint(a), endpoint(b), EndpointInfo.ofAddress("127.0.0.1", 1)));
        // an adapter only the metrics report (running, not yet in any list)
        store.updateMetrics(endpoint(b).name(), new EndpointMetrics(0, 1, 0.1, Set.of("fresh-lora"), Set.of(), 4,
                -1, -1, Double.NaN, 1L));
        ModelsEndpoint models = ModelsEndpoint.manual(store);
        assertEquals(503, models.answer().status(), "nothing reported before the first refresh");

        models.refresh();
        assertEquals(new ModelsEndpoint.Answer(200, "{\"object\":\"list\",\"data\":["
                + "{\"id\":\"chat-lora\",\"object\":\"model\",\"created\":1700000001,\"owned_by\":\"vllm\","
                + "\"root\":\"/adapters/chat-lora\",\"parent\":\"llama\"},"
                + "{\"id\":\"fresh-lora\",\"object\":\"model\",\"created\":0,\"owned_by\":\"vllm\",\"parent\":\"llama\"},"
                + "{\"id\":\"llama\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"vllm\",\"root\":\"llama\","
                + "\"parent\":null,\"max_model_len\":4096},"
                + "{\"id\":\"sql-lora\",\"object\":\"model\",\"created\":1700000001,\"owned_by\":\"vllm\","
                + "\"root\":\"/adapters/sql-lora\",\"parent\":\"llama\"}]}"), models.answer(),
                "one pod's view would miss chat-lora or fresh-lora; the unreachable pod adds nothing");

        // a pod that leaves the pool takes its adapters with it
        store.replaceAll(List.of(endpoint(a)));
        models.refresh();
        assertTrue(!models.answer().body().contains("chat-lora") && models.answer().body().contains("sql-lora"),
                models.answer().body());
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void theGatewaysGetIsAnsweredWithTheMergedListOnlyWhenEnabled(Transport transport) throws Exception {
        String a = pod("llama", "sql-lora");
        String b = pod("llama", "chat-lora");
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=" + a + "," + b,
                "--enable-models-endpoint")) {
            ProcessingResponse r = getModels(epp);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (r.getImmediateResponse().getStatus().getCodeValue() == 503 && System.nanoTime() < deadline) {
                Thread.sleep(20); // the first refresh runs at start-up, off the request path
                r = getModels(epp);
            }
            assertEquals(200, r.getImmediateResponse().getStatus().getCodeValue(), r.toString());
            String json = r.getImmediateResponse().getBody().toStringUtf8();
            assertTrue(json.contains("\"id\":\"chat-lora\"") && json.contains("\"id\":\"sql-lora\"")
                    && json.contains("\"id\":\"llama\""), json);
            assertEquals("application/json", Messages.headerValue(r.getImmediateResponse().getHeaders()
                    .getSetHeaders(0).getHeader()));
        }
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=" + a + "," + b)) {
            ProcessingResponse r = getModels(epp);
            assertTrue(r.hasRequestHeaders(), "off by default: the GET goes to a pod, as in GAIE: " + r);
            assertTrue(Set.of(a, b).contains(Dialect.ISTIO.destination(r)));
        }
    }

    private static ProcessingResponse getModels(EppFixture epp) throws InterruptedException {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":method", "GET");
        headers.put(":scheme", "http");
        headers.put(":authority", "gateway.example");
        headers.put(":path", "/v1/models");
        GatewayStream s = epp.open();
        s.send(Messages.requestHeaders(Dialect.ISTIO, headers, true, Messages.fullDuplex()));
        ProcessingResponse r = s.next();
        s.halfClose();
        return r;
    }
}
