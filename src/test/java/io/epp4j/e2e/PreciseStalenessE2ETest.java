package io.epp4j.e2e;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.sim.KvEventsConfig;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.precise.PrecisePrefixCacheProducer;
import io.epp4j.epp.precise.TokenizedPrompt;
import io.epp4j.epp.precise.VllmHttpTokenizer;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When a pod's KV events are stale, against a simulated pod publishing over its real ZMQ socket: a pod that serves
 * only prefix-cache hits publishes nothing (vLLM announces only blocks it newly stores) and must stay on its events,
 * while a pod whose publisher stops and that is then sent a prompt it must store falls back to the approximate index
 * {@code staleAfter} after that request's first response bytes, and returns to its events once they flow again. The
 * EPP's ticker is injected; only the pod and the sockets run in real time.
 */
class PreciseStalenessE2ETest {

    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private static final long STALE_AFTER = 5_000_000_000L;

    private final HttpClient client = HttpClient.newHttpClient();
    private final AtomicLong now = new AtomicLong(1);
    private SimServer pod;
    private PrecisePrefixCacheProducer producer;
    private VllmHttpTokenizer tokenizer;
    private Endpoint endpoint;

    @AfterEach
    void stop() {
        if (producer != null) {
            producer.close();
        }
        if (pod != null) {
            pod.close();
        }
    }

    private static int port(String tcpEndpoint) {
        return Integer.parseInt(tcpEndpoint.substring(tcpEndpoint.lastIndexOf(':') + 1));
    }

    private static String text(String seed, int chars) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < chars; i++) {
            sb.append(seed).append(' ').append(i).append(' ');
        }
        return sb.substring(0, chars);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + pod.hostPort() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private PreciseIndexStatus.Pod status() {
        return producer.status().pods().get(endpoint.hostPort());
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            Thread.sleep(20);
        }
    }

    /**
     * Routes {@code prompt} to the pod as the EPP would (token ids from the pod's render endpoint, then the
     * producer's produce and preRequest), serves it there, and hands the producer its response; returns the pod's
     * share of the prompt's blocks at the pick, as the producer scored it.
     */
    private double serve(String prompt) throws Exception {
        InferenceRequest request = new InferenceRequest("r", ApiType.COMPLETIONS, MODEL, MODEL,
                ByteSlice.of(Json.quote(prompt)), "", false, 0, "default-flow", Map.of(), prompt.length());
        CycleState state = new CycleState();
        state.put(TokenizedPrompt.KEY, new TokenizedPrompt(tokenizer.tokenize(request)));
        producer.produce(state, request, List.of(endpoint));
        PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor(producer.name()));
        producer.preRequest(state, request, new SchedulingResult("default", List.of(endpoint)));
        HttpResponse<String> r = post("/v1/completions", "{\"model\":" + Json.quote(MODEL) + ",\"prompt\":"
                + Json.quote(prompt) + ",\"max_tokens\":2}");
        assertEquals(200, r.statusCode(), r.body());
        producer.onResponseBody(state, request, endpoint, ByteSlice.of(r.body()), true);
        return info.totalBlocks() == 0 ? 0 : info.matchedBlocks(endpoint) / info.totalBlocks();
    }

    /** Waits until the events the pod numbered so far have all been applied. */
    private void awaitApplied() throws InterruptedException {
        long last = pod.kvEvents().nextSeq() - 1;
        await("batch " + last + " applied", () -> status().lastSequence() >= last);
    }

    @Test
    void aPodServingOnlyPrefixHitsStaysOnItsEventsAndOneWhoseEventsStopFallsBack() throws Exception {
        pod = SimServer.start(SimConfig.defaults(MODEL).withTimeScale(1000), "pod-a", 0, KvEventsConfig.LOOPBACK);
        endpoint = new Endpoint(EndpointInfo.ofAddress("127.0.0.1", pod.port()), EndpointMetrics.UNKNOWN, 0, 0);
        tokenizer = new VllmHttpTokenizer("http://" + pod.hostPort(), VllmHttpTokenizer.Endpoint.RENDER,
                Duration.ofSeconds(5), 100);
        Map<String, Object> discovery = new HashMap<>();
        discovery.put("socketPortOffset", port(pod.kvEvents().endpoint()) - pod.port());
        discovery.put("replaySocketPortOffset", port(pod.kvEvents().replayEndpoint()) - pod.port());
        producer = new PrecisePrefixCacheProducer("precise", new PluginParameters(Map.of(
                "tokenProcessorConfig", Map.of("blockSizeTokens", 16),
                "kvEventsConfig", Map.of("podDiscoveryConfig", discovery),
                "fallback", Map.of("enabled", true, "staleAfter", "5s"))),
                new PluginEnvironment(Clock.systemUTC(), now::get, 1, PluginMetrics.NONE).contextFor(Map.of()));
        producer.onAdded(endpoint.info());
        // past the slow joiner: until the SUB's subscription reaches the publisher, batches are lost
        await("the subscriber hears the pod", () -> {
            try {
                post("/reset_prefix_cache", "");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return status().batches() > 0;
        });
        awaitApplied();

        String hot = text("a system prompt every request of this tenant repeats", 2000);
        assertEquals(0.0, serve(hot), 1e-9, "a cold pod holds nothing");
        awaitApplied();
        assertEquals("events", status().scoredBy());

        // the pod now serves only hits: it stores nothing new, so it publishes nothing
        long seq = pod.kvEvents().nextSeq();
        for (int i = 0; i < 3; i++) {
            assertEquals(1.0, serve(hot), 1e-9, "the events show the whole prompt on the pod");
            now.addAndGet(2 * STALE_AFTER);
            assertEquals("events_healthy", status().health(), "quiet because nothing new was stored");
            assertEquals("events", status().scoredBy());
        }
        assertEquals(seq, pod.kvEvents().nextSeq(), "a pod serving only prefix hits publishes no event");

        // the publisher stops; a prompt the pod must store is served
        assertEquals(200, post("/sim/faults", "kv-stop").statusCode());
        assertEquals(0.0, serve(text("a prompt the pod has never seen", 2000)), 1e-9);
        assertTrue(pod.kvEvents().nextSeq() > seq, "the pod stored the prompt's blocks (and numbered the batch)");
        now.addAndGet(STALE_AFTER - 1_000_000_000L);
        assertEquals("events_healthy", status().health(), "staleAfter has not passed since the first token");
        now.addAndGet(1_000_000_000L);
        assertEquals("stale", status().health(), "silent although it must have published");
        assertEquals("approximate", status().scoredBy());

        // events resume: the next batch reveals the gap, the replay fills it, the pod is back on its events
        assertEquals(200, post("/sim/faults", "none").statusCode());
        serve(text("yet another prompt, stored once the publisher is back", 2000));
        awaitApplied();
        assertEquals("events_healthy", status().health());
        assertEquals("events", status().scoredBy());
        assertEquals(1, status().gapsReplayed(), "the batch sent while stopped came from the replay socket");
    }
}
