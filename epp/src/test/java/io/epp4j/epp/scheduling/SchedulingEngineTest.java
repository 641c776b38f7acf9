package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.epp.scheduling.TestPool.endpoint;
import static io.epp4j.epp.scheduling.TestPool.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulingEngineTest {

    final PrometheusRegistry registry = new PrometheusRegistry();
    final ConfigLoader loader = TestPool.loader(registry);
    SchedulingEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    SchedulingEngine engine(LoadedConfig config) {
        engine = new SchedulingEngine(config, registry, TestPool.CLOCK, System::nanoTime, 16);
        return engine;
    }

    SchedulingResult run(InferenceRequest r, List<Endpoint> pool) throws SchedulingException {
        ScheduledRequest scheduled = engine.schedule(r, pool);
        scheduled.preRequest();
        scheduled.onComplete(ResponseUsage.NONE, true);
        return scheduled.result();
    }

    @Test
    void defaultConfigPicksTheLeastLoadedEndpoint() throws Exception {
        engine(loader.loadDefault());
        List<Endpoint> pool = List.of(endpoint(1, 5, 0.5), endpoint(2, 0, 0.1), endpoint(3, 9, 0.9));
        assertEquals(pool.get(1), run(request("r1", "hello", 0, Map.of()), pool).primary());
    }

    @Test
    void defaultConfigSendsASharedPrefixBackToWhereItWasServed() throws Exception {
        engine(loader.loadDefault());
        List<Endpoint> idle = List.of(endpoint(1, 0, 0.2), endpoint(2, 0, 0.2), endpoint(3, 0, 0.2));
        String system = "You are a helpful assistant. ".repeat(40);
        Endpoint first = run(request("r1", system + "question one", 0, Map.of()), idle).primary();
        // prefix weight 3 outweighs a queue of 1 (queue and kv weights are 2 each)
        List<Endpoint> later = idle.stream().map(e -> e.equals(first) ? endpoint(
                Integer.parseInt(e.info().podName().substring(4)), 1, 0.2) : e).toList();
        Endpoint second = run(request("r2", system + "question two", 0, Map.of()), later).primary();
        assertEquals(first.info().name(), second.info().name());
        Decision d = engine.decisions().forRequest("r2");
        int i = d.endpoints().indexOf(second);
        assertEquals(List.of("queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer"), d.scorers());
        assertEquals(2 * 0.0 + 2 * 0.8 + 3 * d.rawScores()[2][i], d.totals()[i], 1e-9);
        assertTrue(d.rawScores()[2][i] > 0.9, d.explain());
    }

    @Test
    void sheddableRequestsAreDeniedWhenSaturated() throws Exception {
        engine(loader.loadDefault());
        List<Endpoint> busy = List.of(endpoint(1, 10, 0.9), endpoint(2, 6, 0.5));
        List<Endpoint> calm = List.of(endpoint(1, 1, 0.1));
        assertEquals("system saturated, sheddable request dropped",
                engine.admissionDenial(request("r", "p", -1, Map.of()), busy));
        assertNull(engine.admissionDenial(request("r", "p", 0, Map.of()), busy));
        assertNull(engine.admissionDenial(request("r", "p", -1, Map.of()), calm));
    }

    @Test
    void everyPluginCallIsTimedWithGaieLabels() throws Exception {
        engine(loader.loadDefault());
        run(request("r1", "x".repeat(200), 0, Map.of()), List.of(endpoint(1, 0, 0), endpoint(2, 1, 0)));
        String text = TestPool.scrape(registry);
        assertTrue(text.contains("inference_extension_plugin_duration_seconds_count{extension_point=\"Scorer\","
                + "plugin_name=\"queue-scorer\",plugin_type=\"queue-scorer\"} 1"), text);
        assertTrue(text.contains("extension_point=\"Picker\",plugin_name=\"max-score-picker\""), text);
        assertTrue(text.contains("extension_point=\"PreRequest\",plugin_name=\"approx-prefix-cache-producer\""),
                text);
        assertTrue(text.contains("inference_extension_scheduler_e2e_duration_seconds_count 1"), text);
        assertTrue(text.contains("inference_extension_prefix_indexer_hit_ratio_count 1"), text);
        assertTrue(text.contains("inference_extension_prefix_indexer_size"), text);
    }

    @Test
    void conformanceConfigPicksOnlyFromTheTestHeaderAndReportsTheServedEndpoint() throws Exception {
        engine(loader.load(io.epp4j.epp.config.ConfigLoaderTestAccess.resource("conformance-plugins.yaml"), "c"));
        List<Endpoint> pool = List.of(endpoint(1, 0, 0), endpoint(2, 0, 0), endpoint(3, 0, 0));
        for (int i = 0; i < 20; i++) {
            InferenceRequest r = request("c" + i, "p", 0, Map.of("test-epp-endpoint-selection", "10.0.0.3:8000"));
            ScheduledRequest scheduled = engine.schedule(r, pool);
            assertEquals(pool.get(2), scheduled.result().primary());
            scheduled.preRequest();
            ResponseHeaders response = new ResponseHeaders(Map.of(":status", "200"),
                    Map.of("x-gateway-destination-endpoint-served", "10.0.0.3:8000"));
            scheduled.onResponseHeaders(response);
            assertEquals(Map.of("x-conformance-test-served-endpoint", "10.0.0.3:8000"), response.added());
            scheduled.onComplete(ResponseUsage.NONE, true);
        }
        SchedulingException noHeader = assertThrows(SchedulingException.class,
                () -> engine.schedule(request("n", "p", 0, Map.of()), pool));
        assertTrue(noHeader.getMessage().contains("no candidate endpoint"), noHeader.getMessage());
    }

    @Test
    void profileWhoseFiltersLeaveNothingFailsTheRequestAndIsRecorded() throws Exception {
        engine(loader.load("""
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: by-label
                  parameters: {label: role, validValues: [decode]}
                - type: queue-scorer
                schedulingProfiles:
                - name: decode
                  plugins:
                  - pluginRef: by-label
                  - pluginRef: queue-scorer
                """, "t"));
        assertThrows(SchedulingException.class,
                () -> engine.schedule(request("r", "p", 0, Map.of()), List.of(endpoint(1, 0, 0))));
        Decision d = engine.decisions().recent().get(0);
        assertEquals("decode", d.profile());
        assertEquals(List.of(), d.picked());
    }

    @Test
    void swapServesTheNewConfigAndFinishesOldRequestsWithTheOldPlugins() throws Exception {
        engine(loader.load(io.epp4j.epp.config.ConfigLoaderTestAccess.resource("conformance-plugins.yaml"), "c"));
        List<Endpoint> pool = List.of(endpoint(1, 9, 0), endpoint(2, 0, 0));
        InferenceRequest inFlight = request("old", "p", 0, Map.of("test-epp-endpoint-selection", "10.0.0.1"));
        ScheduledRequest old = engine.schedule(inFlight, pool);
        engine.swap(loader.loadDefault());
        assertEquals(pool.get(1), run(request("new", "p", 0, Map.of()), pool).primary());
        // the verifier of the old graph still answers for the old request
        ResponseHeaders response = new ResponseHeaders(Map.of(), null);
        old.onResponseHeaders(response);
        assertEquals("fail: missing envoy lb metadata", response.added().get("x-conformance-test-served-endpoint"));
        old.onComplete(ResponseUsage.NONE, true);
    }

    @Test
    void prefixAffinitySurvivesAReloadThatKeepsTheProducer() throws Exception {
        engine(loader.loadDefault());
        List<Endpoint> idle = List.of(endpoint(1, 0, 0.2), endpoint(2, 0, 0.2), endpoint(3, 0, 0.2));
        String prompt = "Shared system prompt for every call. ".repeat(30);
        Endpoint first = run(request("r1", prompt, 0, Map.of()), idle).primary();
        engine.swap(loader.loadDefault());
        run(request("r2", prompt, 0, Map.of()), idle);
        Decision d = engine.decisions().forRequest("r2");
        assertEquals(1.0, d.rawScores()[2][d.endpoints().indexOf(first)], 1e-9, d.explain());
    }

    @Test
    void decisionRingKeepsOnlyTheLastN() throws Exception {
        engine(loader.loadDefault());
        for (int i = 0; i < 40; i++) {
            run(request("r" + i, "p", 0, Map.of()), List.of(endpoint(1, 0, 0)));
        }
        assertEquals(16, engine.decisions().recent().size());
        assertEquals("r39", engine.decisions().recent().get(0).requestId());
        assertNull(engine.decisions().forRequest("r0"));
    }

    @Test
    void invalidParametersNeverReachTheEngine() {
        assertThrows(ConfigException.class, () -> loader.load("""
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: utilization-detector
                  parameters: {kvCacheUtilThreshold: 1.5}
                """, "t"));
    }
}
