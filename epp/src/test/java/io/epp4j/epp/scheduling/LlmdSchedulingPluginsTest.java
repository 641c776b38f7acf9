package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.ConfigLoaderTestAccess;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.epp.scrape.ScrapeConfig;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.epp4j.epp.scheduling.TestPool.NOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The llm-d scheduling plugin fixtures load and route the way llm-d documents. */
class LlmdSchedulingPluginsTest {

    final PrometheusRegistry registry = new PrometheusRegistry();
    final ConfigLoader loader = TestPool.loader(registry);
    SchedulingEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    SchedulingEngine engine(String fixture) throws Exception {
        LoadedConfig config = loader.load(ConfigLoaderTestAccess.resource(fixture), fixture);
        engine = new SchedulingEngine(config, registry, TestPool.CLOCK, System::nanoTime, 16);
        return engine;
    }

    static Endpoint pod(int i, Map<String, String> labels, int queue, int running, Map<String, Double> attributes) {
        return new Endpoint(new EndpointInfo("pod-" + i + "-rank-0", "ns", "pod-" + i, "10.0.0." + i, 8000, labels),
                new EndpointMetrics(queue, running, 0.2, Set.of(), Set.of(), 0, 16, 10_000, Double.NaN, NOW,
                        attributes), 0, 0);
    }

    static InferenceRequest request(String prompt, Map<String, String> headers) {
        return TestPool.request("r", prompt, 0, headers);
    }

    /** Schedules like the director: pick, pre-request, response headers, completion. */
    static Map.Entry<String, Map<String, String>> serve(SchedulingEngine e, InferenceRequest r, List<Endpoint> pool)
            throws Exception {
        ScheduledRequest s = e.schedule(r, pool);
        s.preRequest();
        ResponseHeaders headers = new ResponseHeaders(Map.of(), null);
        s.onResponseHeaders(headers);
        s.onComplete(ResponseUsage.NONE, true);
        return Map.entry(s.result().primary().info().podName(), headers.added());
    }

    @Test
    void schedulingPluginsFixtureFiltersPinsAndPrefers() throws Exception {
        SchedulingEngine e = engine("llm-d-scheduling-plugins.yaml");
        ScrapeConfig.fromParameters(e.config().dataSourceParameters(), e.config().extractorParameters(), null);
        List<Endpoint> pool = List.of(
                pod(1, Map.of("topology.kubernetes.io/zone", "a", "llm-d.ai/context-length-range", "0-2048"),
                        0, 50, Map.of("custom.queue_depth", 5.0)),                      // best, but over the running cap
                pod(2, Map.of(), 0, 0, Map.of("custom.queue_depth", 150.0)),        // queue depth over 100
                pod(3, Map.of("topology.kubernetes.io/zone", "a", "llm-d.ai/context-length-range", "0-2048"),
                        1, 0, Map.of("custom.queue_depth", 10.0)),
                pod(4, Map.of("topology.kubernetes.io/zone", "b", "llm-d.ai/context-length-range", "2048-8192"),
                        1, 0, Map.of("custom.queue_depth", 30.0)));
        String shortPrompt = "x".repeat(400);
        var first = serve(e, request(shortPrompt, Map.of()), pool);
        assertEquals("pod-3", first.getKey(), "short context and the shallower custom queue");
        assertEquals(token("pod-3"), first.getValue().get("x-session-token"));

        assertEquals("pod-4", serve(e, request(shortPrompt, Map.of("x-preferred-zone", "b")), pool).getKey(),
                "the zone header outweighs context length");
        assertEquals("pod-4", serve(e, request("x".repeat(20_000), Map.of()), pool).getKey(),
                "a long prompt goes to the long-context pod");
        assertEquals("pod-4", serve(e, request(shortPrompt, Map.of("x-session-token", token("pod-4"))), pool)
                .getKey(), "the session pin wins over every preference");
    }

    static String token(String pod) {
        return Base64.getEncoder().encodeToString(("ns/" + pod).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void burstFixtureCoLocatesTheSamplesOfAPrompt() throws Exception {
        SchedulingEngine e = engine("llm-d-burst-prefix-cache.yaml");
        assertTrue(e.mayBlock(), "the burst window blocks the scheduling thread");
        List<Endpoint> pool = List.of(TestPool.endpoint(1, 0, 0), TestPool.endpoint(2, 0, 0),
                TestPool.endpoint(3, 0, 0));
        List<String> prompts = List.of("A".repeat(64), "B".repeat(64), "A".repeat(64), "B".repeat(64),
                "A".repeat(64), "B".repeat(64));
        ExecutorService threads = Executors.newFixedThreadPool(prompts.size());
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<String>> picks = new ArrayList<>();
            for (String p : prompts) {
                picks.add(threads.submit(() -> {
                    go.await();
                    return serve(e, request(p, Map.of()), pool).getKey();
                }));
            }
            go.countDown();
            Set<String> a = new HashSet<>();
            Set<String> b = new HashSet<>();
            for (int i = 0; i < picks.size(); i++) {
                (i % 2 == 0 ? a : b).add(picks.get(i).get());
            }
            assertEquals(1, a.size(), "all samples of prompt A on one replica: " + a);
            assertEquals(1, b.size(), "all samples of prompt B on one replica: " + b);
            assertNotEquals(a, b, "the two groups are balanced over replicas");
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void mmEmbeddingsFixtureReturnsAnImageToThePodThatEncodedIt() throws Exception {
        SchedulingEngine e = engine("llm-d-mm-embeddings-cache.yaml");
        String messages = "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                + "\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}]";
        InferenceRequest chat = new InferenceRequest("r", ApiType.CHAT_COMPLETIONS, "m", "m", ByteSlice.of(messages),
                "", false, 0, "default-flow", Map.of(), messages.length());
        assertEquals("pod-2", serve(e, chat, List.of(TestPool.endpoint(1, 3, 0), TestPool.endpoint(2, 0, 0)))
                .getKey());
        assertEquals("pod-2", serve(e, chat, List.of(TestPool.endpoint(1, 0, 0), TestPool.endpoint(2, 3, 0)))
                .getKey(), "the encoder cache outweighs a longer queue");
    }

    @Test
    void topologyPluginsWithoutAnExtractorGetOneWithTheDefaultLabels() throws Exception {
        LoadedConfig config = loader.load("""
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: topology-affinity-scorer
                - type: max-score-picker
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: topology-affinity-scorer
                  - pluginRef: max-score-picker
                """, "inline");
        assertTrue(config.plugins().values().stream().anyMatch(p -> p.type().equals("topology-extractor")),
                "plugins: " + config.plugins().keySet());
    }

    @Test
    void theEnginePublishesEachProfilesPickToPlugins() throws Exception {
        // the prefill session pin writes the pick of the profile it names, which the engine publishes
        LoadedConfig config = loader.load("""
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: session-affinity-filter
                  name: pin-default
                  parameters:
                    profileName: default
                    encodedEndpointHeaderConfig:
                      header: x-session-token-default
                - type: queue-scorer
                - type: max-score-picker
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: pin-default
                  - pluginRef: queue-scorer
                  - pluginRef: max-score-picker
                """, "inline");
        engine = new SchedulingEngine(config, registry, TestPool.CLOCK, System::nanoTime, 16);
        var served = serve(engine, request("p", Map.of()), List.of(TestPool.endpoint(1, 4, 0),
                TestPool.endpoint(2, 0, 0)));
        assertEquals(token("pod-2"), served.getValue().get("x-session-token-default"));
    }
}
