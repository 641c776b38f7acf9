package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.ConfigLoaderTestAccess;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.UpstreamHeaders;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llm-d's P/D disaggregation and data-parallel handlers in the scheduling engine: which profiles run, where the
 * request goes, the headers the decode pod's sidecar reads, and what the prefix index learns.
 */
class DisaggSchedulingTest {

    final PrometheusRegistry registry = new PrometheusRegistry();
    final ConfigLoader loader = TestPool.loader(registry);
    SchedulingEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    static Endpoint pod(int i, String role, int port, int queue) {
        Map<String, String> labels = role == null ? Map.of() : Map.of("llm-d.ai/role", role);
        return new Endpoint(new EndpointInfo("pod-" + i + "-rank-0", "ns", "pod-" + i, "10.0.0." + i, port, labels),
                new EndpointMetrics(queue, 0, 0.1, Set.of(), Set.of(), 0, 16, 10_000, Double.NaN, TestPool.NOW), 0, 0);
    }

    /** Pods 1-2 prefill, 3-4 decode. */
    static final List<Endpoint> POOL = List.of(pod(1, "prefill", 8000, 0), pod(2, "prefill", 8000, 3),
            pod(3, "decode", 8000, 2), pod(4, "decode", 8000, 0));

    static InferenceRequest request(String id, String prompt, Map<String, String> headers) {
        return new InferenceRequest(id, ApiType.CHAT_COMPLETIONS, "m", "m", ByteSlice.of(prompt), "", true, 0,
                "default-flow", headers, prompt.length());
    }

    record Outcome(ScheduledRequest scheduled, UpstreamHeaders headers) {
        String destination() {
            return scheduled.result().primary().hostPort();
        }

        String header(String name) {
            return headers.sets().get(name);
        }
    }

    Outcome run(String config, InferenceRequest r, List<Endpoint> pool) throws Exception {
        if (engine == null) {
            engine = new SchedulingEngine(loader.load(config, "test"), registry, TestPool.CLOCK, System::nanoTime,
                    16);
        }
        ScheduledRequest s = engine.schedule(r, pool);
        s.preRequest();
        return new Outcome(s, s.upstreamHeaders());
    }

    static String fixture(String name) {
        return ConfigLoaderTestAccess.resource(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llm-d-pd.yaml", "llm-d-pd-legacy.yaml", "llm-d-pd-flat.yaml", "llm-d-dp.yaml"})
    void llmdDisaggregationConfigsLoadUnchanged(String name) throws Exception {
        LoadedConfig config = loader.load(fixture(name), name);
        assertTrue(config.profileHandler().type().contains("profile-handler"), config.profileHandler().type());
    }

    /**
     * llm-d's P/D guide config ({@code apiVersion: llm-d.ai/v1}): every request is prefilled on a prefill pod, and the
     * {@code prefix-cache-affinity-filter} keeps it on the prefill pod that already computed its prefix until that
     * pod's token backlog would delay the first token by more than {@code maxTTFTPenaltyMs} (18 s by default).
     */
    @Test
    void llmdPdGuideConfigPrefillsOnTheWarmPrefillPodUntilItsBacklogOutweighsTheCache() throws Exception {
        LoadedConfig config = loader.load(fixture("llm-d-pd-always.yaml"), "guide");
        assertEquals("disagg-profile-handler", config.profileHandler().type());
        String prompt = "a long shared system prompt and the conversation so far ".repeat(30);
        Outcome first = run(fixture("llm-d-pd-always.yaml"), request("r1", prompt, Map.of()), POOL);
        String warm = first.header("x-prefiller-host-port");
        assertTrue(Set.of("10.0.0.1:8000", "10.0.0.2:8000").contains(warm), warm);
        assertTrue(Set.of("10.0.0.3:8000", "10.0.0.4:8000").contains(first.destination()), first.destination());
        for (int i = 2; i <= 6; i++) { // both prefill pods are idle: only the filter keeps the warm one each time
            assertEquals(warm, run(null, request("r" + i, prompt, Map.of()), POOL).header("x-prefiller-host-port"));
        }
        // ~30 s of prefill queued on the warm pod at the guide's 33821 tokens/s: the cache no longer pays
        List<Endpoint> backlogged = new ArrayList<>();
        for (Endpoint e : POOL) {
            backlogged.add(e.hostPort().equals(warm) ? new Endpoint(e.info(), e.metrics(), 40, 1_000_000) : e);
        }
        String other = run(null, request("r7", prompt, Map.of()), backlogged).header("x-prefiller-host-port");
        assertTrue(Set.of("10.0.0.1:8000", "10.0.0.2:8000").contains(other) && !other.equals(warm), other);
        assertTrue(TestPool.scrape(registry).contains("llm_d_epp_prefix_cache_affinity_filter_decisions_total{"
                + "outcome=\"load_override\",plugin_name=\"prefix-cache-affinity-filter\"} 1.0"),
                TestPool.scrape(registry));
    }

    @Test
    void longUncachedPromptIsPrefilledOnAPrefillPodAndSentToTheDecodePod() throws Exception {
        String prompt = "a long document to summarise ".repeat(40); // ~290 tokens, nothing cached
        Outcome o = run(fixture("llm-d-pd.yaml"), request("r1", prompt, Map.of()), POOL);
        assertEquals("10.0.0.4:8000", o.destination(), "the decode pod with the shortest queue routes it");
        assertEquals("10.0.0.1:8000", o.header("x-prefiller-host-port"), "the idle prefill pod prefills");
        assertEquals(List.of("decode", "prefill"), List.copyOf(o.scheduled().result().profileResults().keySet()),
                "decode runs first, then prefill");
        assertTrue(TestPool.scrape(registry).contains("llm_d_epp_disagg_decision_total{decision_type=\"prefill-decode\""
                + ",model_name=\"m\",plugin_name=\"disagg-profile-handler\",plugin_type=\"disagg-profile-handler\"} 1.0"),
                TestPool.scrape(registry));
    }

    @Test
    void shortPromptStaysDecodeOnlyAndAClientsPrefillerHeaderIsRemoved() throws Exception {
        Outcome o = run(fixture("llm-d-pd.yaml"), request("r1", "hi there",
                Map.of("x-prefiller-host-port", "evil.example:80")), POOL);
        assertEquals("10.0.0.4:8000", o.destination());
        assertFalse(o.headers().sets().containsKey("x-prefiller-host-port"));
        assertTrue(o.headers().removals().contains("x-prefiller-host-port"), "the client may not pick a prefiller");
        assertEquals(List.of("decode"), List.copyOf(o.scheduled().result().profileResults().keySet()));
        assertTrue(TestPool.scrape(registry).contains("decision_type=\"decode-only\""));
    }

    @Test
    void prefixIndexLearnsForBothProfilesSoARepeatedPromptStaysOnTheDecodePod() throws Exception {
        String prompt = "shared system prompt and a long conversation so far ".repeat(30);
        Outcome first = run(fixture("llm-d-pd.yaml"), request("r1", prompt, Map.of()), POOL);
        assertEquals("10.0.0.1:8000", first.header("x-prefiller-host-port"));
        // the same prompt again, plus a few tokens: the decode pod now holds all but < 16 tokens of it, so no prefill
        // pod is needed; and the prefill pod that computed it is preferred over the idle one by its prefix score
        Outcome second = run(null, request("r2", prompt + "and one more", Map.of()), POOL);
        assertEquals(first.destination(), second.destination(), "decode pod 4 holds the prefix");
        assertFalse(second.headers().sets().containsKey("x-prefiller-host-port"), "cached: decode-only");
        List<Endpoint> busierDecode4 = List.of(POOL.get(0), POOL.get(1), POOL.get(2), pod(4, "decode", 8000, 5));
        Outcome third = run(null, request("r3", prompt.replace("shared", "unseen") + "x", Map.of()),
                busierDecode4);
        assertEquals("10.0.0.3:8000", third.destination());
        // a prompt sharing the first prefill pod's prefix, on a decode pod that has not seen it: still prefill pod 1
        List<Endpoint> prefill1Busy = List.of(pod(1, "prefill", 8000, 1), POOL.get(1), POOL.get(2), POOL.get(3));
        Outcome fourth = run(null, request("r4", prompt + " a different ending ".repeat(10), Map.of()),
                List.of(prefill1Busy.get(0), prefill1Busy.get(1), prefill1Busy.get(2)));
        assertEquals("10.0.0.3:8000", fourth.destination());
        assertEquals("10.0.0.1:8000", fourth.header("x-prefiller-host-port"),
                "prefill pod 1 learnt the prefix in r1 and outscores the idle pod 2 despite its queue");
    }

    @Test
    void noPrefillPodLeftMeansDecodeOnlyNotAFailure() throws Exception {
        String prompt = "x".repeat(4000);
        Outcome o = run(fixture("llm-d-pd.yaml"), request("r1", prompt, Map.of()), POOL.subList(2, 4));
        assertEquals("10.0.0.4:8000", o.destination());
        assertFalse(o.headers().sets().containsKey("x-prefiller-host-port"));
    }

    @Test
    void noDecodePodFailsTheRequest() throws Exception {
        engine = new SchedulingEngine(loader.load(fixture("llm-d-pd.yaml"), "t"), registry, TestPool.CLOCK,
                System::nanoTime, 16);
        assertThrows(SchedulingException.class, () -> engine.schedule(request("r1", "x".repeat(4000), Map.of()),
                List.of(pod(1, "prefill", 8000, 0))), "prefill pods do not decode");
    }

    @Test
    void legacyHandlerWithThresholdZeroAlwaysDisaggregatesAndTheHeaderHandlerNamesThePrefillPod() throws Exception {
        Outcome o = run(fixture("llm-d-pd-legacy.yaml"), request("r1", "hi", Map.of()), POOL);
        assertEquals("10.0.0.4:8000", o.destination());
        assertEquals("10.0.0.1:8000", o.header("x-prefiller-host-port"));
        assertTrue(TestPool.scrape(registry).contains("llm_d_epp_pd_decision_total{decision_type=\"prefill-decode\""));
    }

    @Test
    void multimodalPromptRunsTheEncodeStageAndNamesEveryEncodePod() throws Exception {
        List<Endpoint> pool = new ArrayList<>(POOL);
        pool.add(pod(5, "encode", 8000, 0));
        String image = "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]";
        Outcome o = run(fixture("llm-d-pd-flat.yaml"), request("r1", image, Map.of()), pool);
        assertEquals("10.0.0.5:8000", o.header("x-encoder-hosts-ports"));
        assertTrue(o.header("x-prefiller-host-port").startsWith("10.0.0."));
        Outcome text = run(null, request("r2", "[{\"role\":\"user\",\"content\":\"hello\"}]",
                Map.of("x-encoder-hosts-ports", "1.2.3.4:1")), pool);
        assertFalse(text.headers().sets().containsKey("x-encoder-hosts-ports"));
        assertTrue(text.headers().removals().contains("x-encoder-hosts-ports"));
        assertTrue(TestPool.scrape(registry).contains("decision_type=\"encode-prefill-decode\""));
    }

    @Test
    void dataParallelHandlerSendsToThePrimaryPortAndNamesTheRank() throws Exception {
        List<Endpoint> ranks = List.of(pod(1, null, 8000, 4), pod(1, null, 8003, 0), pod(2, null, 8001, 2));
        Outcome o = run(fixture("llm-d-dp.yaml"), request("r1", "hello", Map.of("x-data-parallel-host-port",
                "10.9.9.9:1")), List.of(ranks.get(0), new Endpoint(new EndpointInfo("pod-1-rank-3", "ns", "pod-1",
                "10.0.0.1", 8003, Map.of()), ranks.get(1).metrics(), 0, 0), ranks.get(2)));
        Endpoint rank = o.scheduled().result().profile("default").get(0);
        assertEquals(rank.info().ip() + ":8000", o.destination(), "the gateway routes to the pod's primary port");
        assertEquals(rank.info().name(), o.scheduled().result().primary().info().name(), "in-flight load per rank");
        assertEquals(rank.hostPort(), o.header("x-data-parallel-host-port"), "the sidecar forwards to the rank");
        for (int i = 0; i < 20 && rank.info().port() == 8000; i++) {
            o = run(null, request("r" + i, "hello", Map.of()), ranks.subList(1, 3));
            rank = o.scheduled().result().profile("default").get(0);
        }
        assertTrue(rank.info().port() != 8000 && o.destination().endsWith(":8000"), o.destination());
    }

    @Test
    void pdProfileHandlerWithPrimaryPortCombinesDataParallelAndPd() throws Exception {
        String config = fixture("llm-d-pd-legacy.yaml").replace("hashBlockSize: 5", "hashBlockSize: 5\n"
                + "    primaryPort: 8000");
        List<Endpoint> pool = List.of(pod(1, "prefill", 8002, 0), pod(3, "decode", 8001, 0));
        Outcome o = run(config, request("r1", "hi", Map.of()), pool);
        assertEquals("10.0.0.3:8000", o.destination());
        assertEquals("10.0.0.3:8001", o.header("x-data-parallel-host-port"));
        assertEquals("10.0.0.1:8002", o.header("x-prefiller-host-port"), "prefill ranks are named directly");
    }

    @Test
    void deciderThresholdGatesDisaggregation() throws Exception {
        String config = fixture("llm-d-pd.yaml").replace("nonCachedTokens: 16", "nonCachedTokens: 200")
                .replace("promptTokens: 0", "promptTokens: 500");
        // 300 tokens uncached: over nonCachedTokens, but under the promptTokens gate
        assertFalse(run(config, request("r1", "y".repeat(1200), Map.of()), POOL).headers().sets()
                .containsKey("x-prefiller-host-port"));
        assertTrue(run(null, request("r2", "z".repeat(2400), Map.of()), POOL).headers().sets()
                .containsKey("x-prefiller-host-port"));
    }

    @Test
    void badDisaggregationConfigsFailNamingTheProblem() {
        String pd = fixture("llm-d-pd.yaml");
        ConfigException missing = assertThrows(ConfigException.class, () -> loader.load(
                pd.replace("prefill: prefix-based-pd-decider", "prefill: nope"), "t"));
        assertTrue(missing.getMessage().contains("'nope' is not a decider plugin"), missing.getMessage());
        ConfigException negative = assertThrows(ConfigException.class, () -> loader.load(
                pd.replace("nonCachedTokens: 16", "nonCachedTokens: -1"), "t"));
        assertTrue(negative.getMessage().contains("nonCachedTokens"), negative.getMessage());
        ConfigException order = assertThrows(ConfigException.class, () -> loader.load(pd.replace(
                "    deciders:", "    stageOrder: prefill-first\n    deciders:"), "t"));
        assertTrue(order.getMessage().contains("prefill-first"), order.getMessage());
        ConfigException mixed = assertThrows(ConfigException.class, () -> loader.load(pd.replace(
                "    deciders:", "    decodeProfile: decode\n    deciders:"), "t"));
        assertTrue(mixed.getMessage().contains("cannot be mixed"), mixed.getMessage());
        ConfigException port = assertThrows(ConfigException.class, () -> loader.load(fixture("llm-d-dp.yaml")
                .replace("primaryPort: 8000", "primaryPort: 70000"), "t"));
        assertTrue(port.getMessage().contains("primaryPort"), port.getMessage());
    }

    @Test
    void prefillFirstRunsPrefillThenDecodeWithThePrefillPickAsPeer() throws Exception {
        String config = fixture("llm-d-pd.yaml").replace("    deciders:\n      prefill: prefix-based-pd-decider",
                "    stageOrder: prefill-first");
        Outcome o = run(config, request("r1", "hi", Map.of()), POOL);
        assertEquals(List.of("prefill", "decode"), List.copyOf(o.scheduled().result().profileResults().keySet()));
        assertEquals("10.0.0.1:8000", o.header("x-prefiller-host-port"));
        assertEquals("10.0.0.4:8000", o.destination());
    }
}
