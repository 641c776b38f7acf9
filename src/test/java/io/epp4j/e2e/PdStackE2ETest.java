package io.epp4j.e2e;

import io.epp4j.bench.sim.EngineModel;
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
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code stack --pd}: gateway simulator → epp4j with the P/D config → a decode pod, whose sidecar prefills long
 * prompts on the prefill pod the EPP named; short prompts stay on the decode pod.
 */
class PdStackE2ETest {

    private static LocalStack stack;
    private static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    private final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        stack = LocalStack.start(0, 3, false, true, false, true, 7, EngineModel.STEP,
                new PrintStream(LOG, true, StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    HttpResponse<String> chat(String content) throws Exception {
        String body = "{\"model\":\"" + LocalStack.QWEN + "\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + content + "\"}]}";
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.gatewayPort()
                        + "/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The Qwen pool's pods and roles, from the stack's start-up log. */
    static String podOf(String role) {
        Matcher m = Pattern.compile("pod (\\S+)\\s+llm-d.ai/role=" + role).matcher(LOG.toString(StandardCharsets.UTF_8));
        assertTrue(m.find(), LOG.toString(StandardCharsets.UTF_8));
        return m.group(1);
    }

    long count(String pod, String outcome) throws Exception {
        Matcher address = Pattern.compile("pod " + Pattern.quote(pod) + "\\s+\\S+\\s+http://(\\S+)")
                .matcher(LOG.toString(StandardCharsets.UTF_8));
        assertTrue(address.find());
        String metrics = client.send(HttpRequest.newBuilder(URI.create("http://" + address.group(1) + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("epp4j_sim_pd_requests_total\\{role=\"\\w+\",outcome=\"" + outcome + "\"} (\\d+)")
                .matcher(metrics);
        long n = 0;
        while (m.find()) {
            n += Long.parseLong(m.group(1));
        }
        return n;
    }

    @Test
    void longPromptIsPrefilledOnThePrefillPodAndDecodedOnADecodePod() throws Exception {
        String prefill = podOf("prefill");
        long before = count(prefill, "prefill-leg");
        HttpResponse<String> r = chat("summarise this long report please. ".repeat(400)); // ~3,400 tokens
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(before + 1, count(prefill, "prefill-leg"), "the prefill pod prefilled it");
        HttpResponse<String> shortOne = chat("hi");
        assertEquals(200, shortOne.statusCode(), shortOne.body());
        assertEquals(before + 1, count(prefill, "prefill-leg"), "a short prompt stays decode-only");
    }
}
