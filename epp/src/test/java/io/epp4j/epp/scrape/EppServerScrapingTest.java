package io.epp4j.epp.scrape;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.spi.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The EPP process scrapes its endpoints and exposes the scrape and pool metrics. */
class EppServerScrapingTest {

    private static EppServer start(EppServer.Components components, String... flags) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("--grpc-port=0", "--grpc-health-port=0",
                "--metrics-port=0", "--secure-serving=false"));
        all.addAll(List.of(flags));
        return EppServer.start(EppOptions.parse(all.toArray(String[]::new)), components);
    }

    @Test
    void scrapesStaticEndpointsAndPublishesPoolGauges() throws Exception {
        try (LoopbackModelServer model = LoopbackModelServer.http(LoopbackModelServer.serve(MetricsScraperTest.VLLM));
             EppServer server = start(EppServer.Components.defaults(), "--endpoints=127.0.0.1:" + model.port(),
                     "--refresh-metrics-interval=20ms", "--refresh-prometheus-metrics-interval=50ms")) {
            MetricsScraperTest.await("endpoint scraped", () -> server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().known()));
            Endpoint e = server.endpointStore().snapshot().get(0);
            assertEquals(7, e.metrics().runningRequests());
            MetricsScraperTest.await("pool gauge published", () -> {
                try {
                    return EppFixture.metricsText(server.metricsPort()).contains("inference_pool_ready_pods{name=\"\"} 1");
                } catch (Exception ex) {
                    return false;
                }
            });
            String text = EppFixture.metricsText(server.metricsPort());
            assertTrue(text.contains("epp4j_model_server_scrape_duration_seconds"), text);
            assertTrue(text.contains("inference_pool_per_pod_queue_size{model_server_pod=\"127.0.0.1:"
                    + model.port() + "\",name=\"\"} 0"), text);
        }
    }

    @Test
    void theConfigFilesExtractorParametersChooseTheEngine() throws Exception {
        String sglang = "# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs{model_name=\"m\"} 4\n"
                + "# TYPE sglang:num_running_reqs gauge\nsglang:num_running_reqs{model_name=\"m\"} 2\n"
                + "# TYPE sglang:token_usage gauge\nsglang:token_usage{model_name=\"m\"} 0.25\n";
        String config = """
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: queue-scorer
                - type: metrics-data-source
                - type: core-metrics-extractor
                  parameters:
                    defaultEngine: sglang
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: queue-scorer
                """;
        try (LoopbackModelServer model = LoopbackModelServer.http(LoopbackModelServer.serve(sglang.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
             EppServer server = start(EppServer.Components.defaults(), "--endpoints=127.0.0.1:" + model.port(),
                     "--refresh-metrics-interval=20ms", "--config-text=" + config)) {
            MetricsScraperTest.await("endpoint scraped", () -> server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().known()));
            Endpoint e = server.endpointStore().snapshot().get(0);
            assertEquals(4, e.metrics().waitingQueueSize());
            assertEquals(2, e.metrics().runningRequests());
            assertEquals(0.25, e.metrics().kvCacheUsage(), 1e-9);
        }
    }

    @Test
    void configFileDataLayerParametersDriveScraping() throws Exception {
        String config = String.join("\n",
                "apiVersion: inference.networking.x-k8s.io/v1alpha1",
                "kind: EndpointPickerConfig",
                "plugins:",
                "- type: queue-scorer",
                "- type: metrics-data-source",
                "  parameters:",
                "    path: /custom",
                "- type: core-metrics-extractor",
                "  parameters:",
                "    defaultEngine: swapped",
                "    engineConfigs:",
                "    - name: swapped",
                "      queuedRequestsSpec: vllm:num_requests_running",
                "schedulingProfiles:",
                "- name: default",
                "  plugins:",
                "  - pluginRef: queue-scorer",
                "dataLayer:",
                "  sources:",
                "  - pluginRef: metrics-data-source",
                "    extractors:",
                "    - pluginRef: core-metrics-extractor",
                "");
        try (LoopbackModelServer model = LoopbackModelServer.http(LoopbackModelServer.serve(MetricsScraperTest.VLLM));
             EppServer server = start(EppServer.Components.defaults(), "--endpoints=127.0.0.1:" + model.port(),
                     "--config-text=" + config)) {
            MetricsScraperTest.await("endpoint scraped", () -> server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().known()));
            Endpoint e = server.endpointStore().snapshot().get(0);
            assertEquals(7, e.metrics().waitingQueueSize(), "the config's engine mapping is used");
            assertEquals(-1, e.metrics().runningRequests(), "replaced engine: unset specs are disabled");
            assertEquals("/custom", model.lastPath);
        }
    }

    @Test
    void poolLabelFallsBackToTheDeploymentOfTheEppPod() {
        assertEquals("pool", ModelServerMetrics.poolLabel("pool", "x-1-2"));
        assertEquals("my-epp", ModelServerMetrics.poolLabel("", "my-epp-5d9c7b8f4-x2x7q"));
        assertEquals("", ModelServerMetrics.poolLabel("", null));
    }

    @Test
    void configParametersOverrideDeprecatedFlagsAndBadOnesStopStartUp() throws Exception {
        // --model-server-metrics-scheme=https --model-server-metrics-path=/old --refresh-metrics-interval=75ms
        ScrapeOptions options = new ScrapeOptions(java.time.Duration.ofMillis(75), java.time.Duration.ofSeconds(5),
                java.time.Duration.ofSeconds(2), "", "https", "/old", null, false);
        ScrapeConfig c = ModelServerMetrics.config(options, Map.of("path", "/new"), Map.of());
        assertEquals("https", c.scheme());
        assertEquals("/new", c.path());
        assertEquals(java.time.Duration.ofMillis(75), c.interval());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start(
                EppServer.Components.defaults().modelServerMetrics(Map.of(), Map.of("defaultEngine", "nope")),
                "--endpoints=127.0.0.1:1"));
        assertTrue(e.getMessage().contains("defaultEngine \"nope\""), e.getMessage());
    }

    @Test
    void customMetricsScrapedOverHttpSteerEndpointAttributePlugins() throws Exception {
        String config = String.join("\n",
                "apiVersion: llm-d.ai/v1alpha1",
                "kind: EndpointPickerConfig",
                "plugins:",
                "- type: core-metrics-extractor",
                "  parameters:",
                "    engineConfigs:",
                "    - name: vllm",
                "      queuedRequestsSpec: vllm:num_requests_waiting",
                "      customMetrics:",
                "      - attributeKey: custom.queue_depth",
                "        metricSpec: custom_queue_depth{tier=\"gold\"}",
                "- type: endpoint-attribute-filter",
                "  parameters:",
                "    attribute: custom.queue_depth",
                "    onMissing: Fail",
                "    algorithm: {type: threshold, threshold: {operator: LessThan, value: 10}}",
                "- type: queue-scorer",
                "schedulingProfiles:",
                "- name: default",
                "  plugins:",
                "  - pluginRef: endpoint-attribute-filter",
                "  - pluginRef: queue-scorer",
                "");
        byte[] deepBody = ("vllm:num_requests_waiting 0\ncustom_queue_depth{tier=\"gold\"} 40\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] shallowBody = ("vllm:num_requests_waiting 5\ncustom_queue_depth{tier=\"silver\"} 90\n"
                + "custom_queue_depth{tier=\"gold\"} 3\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        try (LoopbackModelServer deep = LoopbackModelServer.http(LoopbackModelServer.serve(deepBody));
             LoopbackModelServer shallow = LoopbackModelServer.http(LoopbackModelServer.serve(shallowBody));
             EppFixture epp = EppFixture.start(EppFixture.Transport.IN_PROCESS,
                     "--endpoints=127.0.0.1:" + deep.port() + ",127.0.0.1:" + shallow.port(),
                     "--refresh-metrics-interval=20ms", "--config-text=" + config)) {
            MetricsScraperTest.await("custom metric scraped", () -> epp.server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().attributes().containsKey("custom.queue_depth")));
            io.epp4j.gatewaykit.GatewayStream s = epp.post(io.epp4j.gatewaykit.Dialect.ISTIO,
                    "/v1/chat/completions", io.epp4j.gatewaykit.Messages.chatBody("m", false, 10), 1000, null);
            String picked = io.epp4j.gatewaykit.Messages.setHeader(
                    s.next().getRequestHeaders().getResponse().getHeaderMutation(), "x-gateway-destination-endpoint");
            assertEquals("127.0.0.1:" + shallow.port(), picked,
                    "the deep custom queue is filtered out although its vLLM queue is shorter");
            s.cancel();
        }
    }
}
