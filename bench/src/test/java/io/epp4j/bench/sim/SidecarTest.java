package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * P/D between two simulated pods over real HTTP: the decode pod's sidecar sends the prompt to the prefill pod named
 * in {@code x-prefiller-host-port}, which answers with {@code kv_transfer_params}; a prefill pod that is missing or
 * hangs leaves the request decode-only, counted on the decode pod's {@code /metrics}.
 */
class SidecarTest {

    private final HttpClient client = HttpClient.newHttpClient();
    private SimServer prefill;
    private SimServer decode;

    @AfterEach
    void stop() {
        if (prefill != null) {
            prefill.close();
        }
        if (decode != null) {
            decode.close();
        }
    }

    void start(KvTransfer transfer) throws Exception {
        SimConfig c = SimConfig.stepDefaults("m", StepProfile.H100_8B).withTimeScale(100);
        prefill = SimServer.start(c, "prefill-0", 0);
        decode = SimServer.start(c.withSeed(7), "decode-0", 0);
        prefill.setDisaggregation("prefill", transfer);
        decode.setDisaggregation("decode", transfer);
    }

    HttpResponse<String> post(SimServer to, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + to.hostPort() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    String metrics(SimServer s) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + s.hostPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    static final String LONG = "{\"model\":\"m\",\"prompt\":\"" + "tell me about the sea ".repeat(100)
            + "\",\"max_tokens\":4}";

    @Test
    @SuppressWarnings("unchecked")
    void decodePodPrefillsOnThePrefillPodThenDecodesAndReportsItsCachedTokens() throws Exception {
        start(KvTransfer.DEFAULT);
        // warm the prefill pod, so its cached tokens show in the P/D answer
        HttpResponse<String> warm = post(prefill, LONG);
        assertEquals(200, warm.statusCode(), warm.body());
        HttpResponse<String> r = post(decode, LONG, "x-prefiller-host-port", prefill.hostPort());
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> body = Json.parseObject(r.body());
        Map<String, Object> usage = (Map<String, Object>) body.get("usage");
        assertEquals(4, ((Number) usage.get("completion_tokens")).intValue());
        int cached = ((Number) ((Map<String, Object>) usage.get("prompt_tokens_details")).get("cached_tokens"))
                .intValue();
        assertTrue(cached >= 544, "the prefill pod's cached tokens, not the cold decode pod's 0: " + cached);
        assertTrue(metrics(prefill).contains("epp4j_sim_pd_requests_total{role=\"prefill\",outcome=\"prefill-leg\"} 1"),
                metrics(prefill));
        assertTrue(metrics(decode).contains("epp4j_sim_pd_requests_total{role=\"decode\",outcome=\"prefill-decode\"} 1"),
                metrics(decode));
        assertTrue(prefill.snapshot().promptTokens() >= 2 * 550, "the prefill pod computed the prompt twice");
    }

    @Test
    @SuppressWarnings("unchecked")
    void prefillLegIsAnsweredWithKvTransferParams() throws Exception {
        start(KvTransfer.DEFAULT);
        HttpResponse<String> r = post(prefill, "{\"model\":\"m\",\"prompt\":\"" + "x".repeat(400) + "\",\"max_tokens\":1,"
                + "\"stream\":false,\"kv_transfer_params\":{\"do_remote_decode\":true,\"do_remote_prefill\":false}}");
        Map<String, Object> kv = (Map<String, Object>) Json.parseObject(r.body()).get("kv_transfer_params");
        assertEquals(true, kv.get("do_remote_prefill"));
        assertEquals(false, kv.get("do_remote_decode"));
        assertEquals("prefill-0", kv.get("remote_engine_id"));
        assertEquals(7, ((java.util.List<?>) kv.get("remote_block_ids")).size(), "100 tokens in 16-token blocks");
    }

    @Test
    void unknownPrefillerMeansDecodeOnlyCounted() throws Exception {
        start(KvTransfer.DEFAULT);
        HttpResponse<String> r = post(decode, LONG, "x-prefiller-host-port", "127.0.0.1:1");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(metrics(decode).contains("outcome=\"fallback-prefill-unreachable\"} 1"), metrics(decode));
    }

    @Test
    void hangingPrefillPodTimesOutAndTheDecodePodServesItAlone() throws Exception {
        start(new KvTransfer(131_072, 40, 1, 0, 20_000)); // 20 s simulated = 200 ms real at 100x
        prefill.setFaults(Faults.parse("hang"));
        HttpResponse<String> r = post(decode, LONG, "x-prefiller-host-port", prefill.hostPort());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(metrics(decode).contains("outcome=\"fallback-prefill-timeout\"} 1"), metrics(decode));
    }

    @Test
    void failingPrefillPodMeansDecodeOnlyCounted() throws Exception {
        start(KvTransfer.DEFAULT);
        prefill.setFaults(Faults.parse("errors=1.0"));
        HttpResponse<String> r = post(decode, LONG, "x-prefiller-host-port", prefill.hostPort());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(metrics(decode).contains("outcome=\"fallback-prefill-error\"} 1"), metrics(decode));
    }
}
