package io.epp4j.e2e;

import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.bench.stack.LocalStack;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code stack --bbr}: the gateway asks epp4j's body-based router ({@code --mode bbr}, over TLS) before matching
 * routes, as an Envoy-based gateway does, instead of using its built-in model map.
 */
class BodyRouterStackE2ETest {

    @Test
    void routesEachModelAndAdapterToItsPoolThroughTheBodyRouter() throws Exception {
        try (LocalStack stack = LocalStack.start(0, 1, true, true, true, 5, SimFlags.DEFAULT_ENGINE,
                new PrintStream(new ByteArrayOutputStream()))) {
            List<LocalStack.DemoResult> r = stack.seedRequests();
            assertEquals(List.of(200, 200, 404), r.stream().map(LocalStack.DemoResult::status).toList());
            assertEquals("vllm-qwen3-0-6b", r.get(0).pool());
            assertEquals("vllm-tinyllama-1-1b", r.get(1).pool());

            String lora = "{\"model\":\"" + LocalStack.QWEN_LORA + "\",\"prompt\":\"Rate this pasta\",\"max_tokens\":4}";
            HttpResponse<String> adapter = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + stack.gatewayPort() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(lora)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, adapter.statusCode(), adapter.body());
            assertEquals("vllm-qwen3-0-6b", adapter.headers().firstValue(GatewaySim.POOL_HEADER).orElse("-"),
                    "the adapter goes to its base model's pool");

            String metrics = new String(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + stack.bodyRouterMetricsPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body(), StandardCharsets.UTF_8);
            assertTrue(metrics.contains("epp4j_bbr_requests_total{outcome=\"routed\"} 3.0"), metrics);
            assertTrue(metrics.contains("epp4j_bbr_requests_total{outcome=\"unmapped\"} 1.0"), metrics);
        }
    }

    @Test
    void theStackCommandTakesBbr() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = LocalStack.run(new String[] {"--bbr", "--port", "0", "--pods", "1", "--demo-requests", "6"},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("body-based router (epp4j --mode bbr)"), text);
        assertTrue(text.contains("6 requests, 0 failed"), text);
    }
}
