package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimServerTest {

    private final HttpClient client = HttpClient.newHttpClient();
    private final SimServer server;

    SimServerTest() throws Exception {
        SimConfig c = SimConfig.defaults("Qwen/Qwen3-8B").withLoras(List.of("sql-lora"), 2).withTimeScale(1000);
        server = SimServer.start(c, "pod-a", 0);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + server.hostPort() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + server.hostPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void chatCompletionAnswersWithUsageAndIdentityHeaders() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"model\":\"Qwen/Qwen3-8B\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":7}");
        assertEquals(200, r.statusCode());
        assertEquals("pod-a", r.headers().firstValue("x-inference-pod").orElseThrow());
        assertEquals(Integer.toString(server.port()), r.headers().firstValue("x-inference-port").orElseThrow());
        Map<String, Object> body = Json.parseObject(r.body());
        assertEquals("chat.completion", body.get("object"));
        Map<?, ?> usage = (Map<?, ?>) body.get("usage");
        assertEquals(7.0, usage.get("completion_tokens"));
        assertTrue(((Map<?, ?>) usage.get("prompt_tokens_details")).containsKey("cached_tokens"));
        Map<?, ?> choice = (Map<?, ?>) ((List<?>) body.get("choices")).get(0);
        assertEquals("length", choice.get("finish_reason"));
    }

    @Test
    void streamingChatIsServerSentEventsEndingWithUsageAndDone() throws Exception {
        String req = "{\"model\":\"Qwen/Qwen3-8B\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"" + "s".repeat(640) + "\"}],\"max_tokens\":5}";
        post("/v1/chat/completions", req);
        HttpResponse<String> r = post("/v1/chat/completions", req);
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        String[] events = r.body().split("\n\n");
        for (String e : events) {
            assertTrue(e.startsWith("data: "), "every event is a data line: " + e);
        }
        assertEquals("data: [DONE]", events[events.length - 1]);
        Map<String, Object> usageChunk = Json.parseObject(events[events.length - 2].substring(6));
        assertEquals(List.of(), usageChunk.get("choices"));
        Map<?, ?> usage = (Map<?, ?>) usageChunk.get("usage");
        assertEquals(5.0, usage.get("completion_tokens"));
        double cached = (Double) ((Map<?, ?>) usage.get("prompt_tokens_details")).get("cached_tokens");
        assertTrue(cached >= 160, "the repeated 160-token system prompt is served from the prefix cache: " + cached);
        Map<String, Object> first = Json.parseObject(events[0].substring(6));
        assertEquals("chat.completion.chunk", first.get("object"));
        long contentChunks = java.util.Arrays.stream(events).filter(e -> e.contains("\"content\":\"")
                && !e.contains("\"content\":\"\"")).count();
        assertEquals(5, contentChunks, "one chunk per generated token");
    }

    @Test
    void completionsEndpointStreamsTextChunks() throws Exception {
        HttpResponse<String> r = post("/v1/completions",
                "{\"model\":\"sql-lora\",\"prompt\":\"select\",\"max_tokens\":3,\"stream\":true}");
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("\"object\":\"text_completion\""));
        assertTrue(r.body().endsWith("data: [DONE]\n\n"));
    }

    @Test
    void unknownModelIs404AndBadJsonIs400() throws Exception {
        assertEquals(404, post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[]}").statusCode());
        assertEquals(400, post("/v1/chat/completions", "{not json").statusCode());
        assertEquals(418, client.send(HttpRequest.newBuilder(URI.create("http://" + server.hostPort() + "/v1/completions"))
                .header("X-Return-Error", "418").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"Qwen/Qwen3-8B\",\"prompt\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void modelsListsBaseModelAndAdapters() throws Exception {
        Map<String, Object> body = Json.parseObject(get("/v1/models").body());
        List<?> data = (List<?>) body.get("data");
        assertEquals("Qwen/Qwen3-8B", ((Map<?, ?>) data.get(0)).get("id"));
        assertEquals("sql-lora", ((Map<?, ?>) data.get(1)).get("id"));
        assertEquals("Qwen/Qwen3-8B", ((Map<?, ?>) data.get(1)).get("parent"));
        assertEquals(200, get("/health").statusCode());
    }

    @Test
    void metricsUseVllmNamesTypesAndLabels() throws Exception {
        post("/v1/completions", "{\"model\":\"sql-lora\",\"prompt\":\"" + "p".repeat(200) + "\",\"max_tokens\":2}");
        HttpResponse<String> r = get("/metrics");
        PrometheusText m = PrometheusText.parse(r.body());
        assertEquals("gauge", m.types.get("vllm:num_requests_running"));
        assertEquals("gauge", m.types.get("vllm:num_requests_waiting"));
        assertEquals("gauge", m.types.get("vllm:kv_cache_usage_perc"));
        assertEquals("counter", m.types.get("vllm:prefix_cache_queries_total"));
        assertEquals("counter", m.types.get("vllm:prefix_cache_hits_total"));
        assertEquals("gauge", m.types.get("vllm:prefix_cache_queries_created"));
        assertEquals("histogram", m.types.get("vllm:time_to_first_token_seconds"));
        assertEquals("histogram", m.types.get("vllm:inter_token_latency_seconds"));
        assertEquals("gauge", m.types.get("vllm:lora_requests_info"));
        assertEquals("gauge", m.types.get("vllm:cache_config_info"));
        assertEquals(0.0, m.value("vllm:num_requests_running"));
        assertEquals(50.0, m.value("vllm:prefix_cache_queries_total"));
        assertEquals(1.0, m.value("vllm:time_to_first_token_seconds_count"));
        PrometheusText.Sample running = m.samples.get(0);
        assertEquals(Map.of("engine", "0", "model_name", "Qwen/Qwen3-8B"), running.labels());
        PrometheusText.Sample cache = m.samples.stream().filter(s -> s.name().equals("vllm:cache_config_info")).findFirst().orElseThrow();
        assertEquals("16", cache.labels().get("block_size"));
        assertEquals("8192", cache.labels().get("num_gpu_blocks"));
        PrometheusText.Sample lora = m.samples.stream().filter(s -> s.name().equals("vllm:lora_requests_info")).findFirst().orElseThrow();
        assertEquals("2", lora.labels().get("max_lora"));
        assertTrue(lora.labels().containsKey("running_lora_adapters") && lora.labels().containsKey("waiting_lora_adapters"));
        assertTrue(lora.value() > 1.7e9, "the value is a unix timestamp");
        double inf = m.samples.stream().filter(s -> s.name().equals("vllm:time_to_first_token_seconds_bucket")
                && s.labels().get("le").equals("+Inf")).findFirst().orElseThrow().value();
        assertEquals(1.0, inf);
    }

    @Test
    void faultsBreakMetricsAndRequestsOnDemand() throws Exception {
        server.setFaults(Faults.parse("garbage-metrics,errors=1"));
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse(get("/metrics").body()));
        assertEquals(500, post("/v1/completions", "{\"model\":\"Qwen/Qwen3-8B\",\"prompt\":\"x\"}").statusCode());
        server.setFaults(Faults.NONE);
        assertDoesNotThrow(() -> PrometheusText.parse(get("/metrics").body()));
    }

    @Test
    void stepModelStreamsEachTokenNoEarlierThanItsStepEnds() throws Exception {
        SimConfig c = SimConfig.stepDefaults("Qwen/Qwen3-8B", StepProfile.H100_8B).withTimeScale(100);
        try (SimServer step = SimServer.start(c, "pod-step", 0)) {
            String prompt = "w".repeat(8000 * SimConfig.CHARS_PER_TOKEN);
            String req = "{\"model\":\"Qwen/Qwen3-8B\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    + "\"prompt\":\"" + prompt + "\",\"max_tokens\":20}";
            long started = System.nanoTime();
            HttpResponse<java.io.InputStream> r = client.send(HttpRequest.newBuilder(
                    URI.create("http://" + step.hostPort() + "/v1/completions")).header("content-type",
                    "application/json").POST(HttpRequest.BodyPublishers.ofString(req)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(r.body()));
            String first = lines.readLine();
            double firstTokenRealMs = (System.nanoTime() - started) / 1e6;
            StringBuilder rest = new StringBuilder(first).append('\n');
            for (String line; (line = lines.readLine()) != null; ) {
                rest.append(line).append('\n');
            }
            double prefillSimMs = StepProfile.H100_8B.idlePrefillMs(0, 8000);
            assertTrue(firstTokenRealMs >= prefillSimMs / 100, "the first token waits for the prefill step: "
                    + firstTokenRealMs + " ms real, " + prefillSimMs + " ms simulated at 100x");
            String[] events = rest.toString().split("\n\n");
            long tokens = java.util.Arrays.stream(events).filter(e -> e.contains("\"text\":\"")
                    && !e.contains("\"text\":\"\"")).count();
            assertEquals(20, tokens, "one event per token");
            Map<String, Object> usage = Json.parseObject(events[events.length - 2].substring(6));
            assertEquals(8000.0, ((Map<?, ?>) usage.get("usage")).get("prompt_tokens"));
            PrometheusText m = PrometheusText.parse(get(step, "/metrics").body());
            assertEquals(1.0, m.value("vllm:time_to_first_token_seconds_count"));
            assertEquals(20.0, m.value("vllm:generation_tokens_total"));
            assertEquals(0.0, m.value("vllm:num_requests_running"));
            assertEquals(String.valueOf(StepProfile.H100_8B.kvBlocks()), m.samples.stream()
                    .filter(s -> s.name().equals("vllm:cache_config_info")).findFirst().orElseThrow().labels()
                    .get("num_gpu_blocks"));
        }
    }

    private HttpResponse<String> get(SimServer s, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + s.hostPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void keepsAConnectionOpenAfterItsAnswerWhileHundredsOfOthersAreIdle() throws Exception {
        // A pod that closed it would fail the next request a gateway sends on it from its pool (a 503 in a replay).
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 250; i++) {
                idle.add(healthOnKeepAlive());
            }
            Socket newest = idle.get(idle.size() - 1);
            newest.setSoTimeout(300);
            assertThrows(SocketTimeoutException.class, () -> newest.getInputStream().read(),
                    "the pod closed its connection after answering");
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    /** A connection that has had one {@code GET /health} answered and stays open. */
    private Socket healthOnKeepAlive() throws IOException {
        String[] hostPort = server.hostPort().split(":");
        Socket s = new Socket(InetAddress.getByName(hostPort[0]), Integer.parseInt(hostPort[1]));
        s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: pod\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the pod closed the connection before its answer: " + head);
            }
            head.append((char) b);
        }
        assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
        return s;
    }
}
