package io.epp4j.bench.configs;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The replay's {@code epp4j} policy ({@code bench/configs/epp4j.yaml}) picks as its comments say. */
class RecommendedProfileTest {

    private static final long NOW = 1_700_000_000_000L;
    private static final Clock CLOCK = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);
    /** ~1,000 tokens of an adapter's own system prompt (4 characters a token). */
    private static final String SYSTEM = "You are the billing assistant. ".repeat(130);

    private SchedulingEngine engine;
    private int requests;

    @BeforeEach
    void loadProfile() throws Exception {
        ConfigLoader loader = new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(CLOCK, System::nanoTime, 42, PluginMetrics.NONE));
        engine = new SchedulingEngine(loader.loadFile(Path.of("configs", "epp4j.yaml")), new PrometheusRegistry(),
                CLOCK, System::nanoTime, 16);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    private static Endpoint pod(int i, Set<String> runningAdapters) {
        return pod(i, runningAdapters, 0);
    }

    /** A pod whose adapter slots run {@code runningAdapters} and which streams {@code decoding} answers. */
    private static Endpoint pod(int i, Set<String> runningAdapters, int decoding) {
        return new Endpoint(new EndpointInfo("pod-" + i, "ns", "pod-" + i, "10.0.0." + i, 8000, Map.of()),
                new EndpointMetrics(0, decoding, 0.1, runningAdapters, Set.of(), 2, 16, 32_768,
                        Double.NaN, NOW), decoding, 0);
    }

    private InferenceRequest request(String model, String prompt) {
        return new InferenceRequest("r" + ++requests, ApiType.COMPLETIONS, model, model, ByteSlice.of(prompt), "",
                true, 0, "default-flow", Map.of(), prompt.length());
    }

    /** Schedules and completes one request, as a whole exchange through the EPP. */
    private Endpoint serve(InferenceRequest r, List<Endpoint> pool) throws Exception {
        ScheduledRequest scheduled = engine.schedule(r, pool);
        scheduled.preRequest();
        scheduled.onComplete(ResponseUsage.NONE, true);
        return scheduled.result().primary();
    }

    @Test
    void anAdapterRequestGoesToAFreeAdapterSlotRatherThanWaitForOneWhereItsPromptIsCached() throws Exception {
        // warm pod 1 with the adapter's prompt while the adapter runs there
        List<Endpoint> adapterRunsOnPod1 = List.of(pod(1, Set.of("billing")), pod(2, Set.of()));
        assertEquals("pod-1", serve(request("billing", SYSTEM + "first question"), adapterRunsOnPod1)
                .info().podName(), "the adapter's own pod");

        // now pod 1's two adapter slots are taken by other adapters: the request would wait there for a whole
        // decode of theirs, so the prompt is prefilled again on the pod with a free slot
        List<Endpoint> pod1Full = List.of(pod(1, Set.of("legal", "support")), pod(2, Set.of()));
        assertEquals("pod-2", serve(request("billing", SYSTEM + "second question"), pod1Full).info().podName());
    }

    @Test
    void aHotPromptSpreadsToAnIdlePodWhileItsPodIsBusyPrefilling() throws Exception {
        List<Endpoint> pool = List.of(pod(1, Set.of()), pod(2, Set.of()), pod(3, Set.of()));
        Endpoint first = serve(request("Qwen/Qwen3-8B", SYSTEM + "first question"), pool);
        // three requests with the hot prompt in flight on its pod, none answered yet
        for (int i = 0; i < 3; i++) {
            ScheduledRequest pending = engine.schedule(request("Qwen/Qwen3-8B", SYSTEM + "pending " + i),
                    List.of(first));
            pending.preRequest();
        }
        Endpoint next = serve(request("Qwen/Qwen3-8B", SYSTEM + "next question"), pool);
        org.junit.jupiter.api.Assertions.assertNotEquals(first, next,
                "two pods idle: recomputing the prompt there beats queueing behind three pending requests");
    }

    @Test
    void aCachedPromptKeepsItsPodWhenAdapterSlotsAreNotTheIssue() throws Exception {
        List<Endpoint> pool = List.of(pod(1, Set.of()), pod(2, Set.of()), pod(3, Set.of()));
        Endpoint first = serve(request("Qwen/Qwen3-8B", SYSTEM + "first question"), pool);
        for (int i = 0; i < 5; i++) {
            assertEquals(first, serve(request("Qwen/Qwen3-8B", SYSTEM + "question " + i), pool));
        }
    }

    @Test
    void aPopularAdapterSpreadsToASecondPodOnceItsPodStreamsMoreAnswersThanItsCachedPromptIsWorth() throws Exception {
        List<Endpoint> idle = List.of(pod(1, Set.of("billing")), pod(2, Set.of()));
        assertEquals("pod-1", serve(request("billing", SYSTEM + "first question"), idle).info().podName());

        // one answer streaming on pod 1: the cached 1,000-token prompt keeps the adapter there
        List<Endpoint> someDecoding = List.of(pod(1, Set.of("billing", "legal"), 1), pod(2, Set.of()));
        assertEquals("pod-1", serve(request("billing", SYSTEM + "second question"), someDecoding)
                .info().podName());

        // four answers streaming there (each counts 512 tokens) outweigh prefilling the prompt again on pod 2
        List<Endpoint> slotsFilling = List.of(pod(1, Set.of("billing", "legal"), 4), pod(2, Set.of()));
        assertEquals("pod-2", serve(request("billing", SYSTEM + "third question"), slotsFilling)
                .info().podName());
    }
}
