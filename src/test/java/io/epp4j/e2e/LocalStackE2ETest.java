package io.epp4j.e2e;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.stack.LocalStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one-command stack: simulated pods → one real epp4j EPP per pool → gateway simulator. */
class LocalStackE2ETest {

    private static LocalStack stack;
    private final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.start(0, 2, false, true, 7, new PrintStream(new ByteArrayOutputStream()));
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void answersTheWalkthroughsThreeRequestsFromTheRightPools() throws Exception {
        List<LocalStack.DemoResult> results = stack.seedRequests();

        LocalStack.DemoResult qwen = results.get(0);
        assertEquals(200, qwen.status());
        assertEquals("vllm-qwen3-0-6b", qwen.pool());
        assertTrue(qwen.pod().startsWith("vllm-qwen3-0-6b-"), qwen.pod());
        assertEquals(LocalStack.QWEN, Json.parseObject(qwen.body()).get("model"));

        LocalStack.DemoResult tiny = results.get(1);
        assertEquals(200, tiny.status());
        assertEquals("vllm-tinyllama-1-1b", tiny.pool());
        assertTrue(tiny.pod().startsWith("vllm-tinyllama-1-1b-"), tiny.pod());

        LocalStack.DemoResult unknown = results.get(2);
        assertEquals(404, unknown.status());
        Map<?, ?> error = (Map<?, ?>) Json.parseObject(unknown.body()).get("error");
        assertTrue(((String) error.get("message")).contains(LocalStack.UNKNOWN_MODEL));
    }

    @Test
    void loraAdapterIsRoutedToItsBaseModelsPool() throws Exception {
        HttpResponse<String> r = post("{\"model\":\"" + LocalStack.QWEN_LORA
                + "\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"rate this pizza\"}]}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("x-inference-pod").orElseThrow().startsWith("vllm-qwen3-0-6b-"));
    }

    @Test
    void streamingResponsesComeBackAsServerSentEventsThroughTheEpp() throws Exception {
        HttpResponse<String> r = post("{\"model\":\"" + LocalStack.TINYLLAMA + "\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"max_tokens\":6,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"count to six\"}]}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        String[] events = r.body().split("\n\n");
        assertTrue(Arrays.stream(events).allMatch(e -> e.startsWith("data: ")));
        assertEquals("data: [DONE]", events[events.length - 1]);
        long tokens = Arrays.stream(events).filter(e -> e.contains("\"content\":\"") && !e.contains("\"content\":\"\"")).count();
        assertEquals(6, tokens);
        Map<?, ?> usage = (Map<?, ?>) Json.parseObject(events[events.length - 2].substring(6)).get("usage");
        assertEquals(6.0, usage.get("completion_tokens"));
    }

    @Test
    void mixedDemoLoadSucceedsOnEveryPool() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, stack.demoLoad(24, 3, new PrintStream(out)));
        String table = out.toString();
        assertTrue(table.contains("vllm-qwen3-0-6b-0") && table.contains("vllm-tinyllama-1-1b-1"), table);
    }

    private HttpResponse<String> post(String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.gatewayPort() + "/v1/chat/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
