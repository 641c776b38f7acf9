package io.epp4j.helm;

import io.epp4j.epp.BbrServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.config.BbrConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** helm/body-based-routing: epp4j's --mode bbr deployed in front of an Envoy-based gateway's route matching. */
class BodyBasedRoutingChartTest {

    private static final String NAME = "body-based-router";

    private static Container container(Chart.Rendered rendered) {
        return rendered.get(Deployment.class, NAME).getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    @Test
    void defaultsRunTheEppImageInBbrModeOnGaiesBbrPorts() {
        Chart.Rendered rendered = Chart.bodyBasedRouting("bbr", "gw").render();
        Container c = container(rendered);
        assertEquals("ghcr.io/epp4j/epp4j:0.1.0", c.getImage());
        assertEquals(List.of("--mode=bbr", "--grpc-port=9004", "--grpc-health-port=9005", "--metrics-port=9090"),
                c.getArgs());
        assertEquals(9005, c.getReadinessProbe().getGrpc().getPort());
        Service service = rendered.get(Service.class, NAME);
        assertEquals(List.of(9004, 9005, 9090), service.getSpec().getPorts().stream().map(p -> p.getPort()).toList());
        assertTrue(rendered.ofKind("ConfigMap").isEmpty(), "no map, no config: nothing to mount");
        assertTrue(rendered.ofKind("EnvoyFilter").isEmpty());
    }

    @Test
    void baseModelsBecomeAReloadedMapFileThatTheRouterReads(@TempDir Path dir) throws Exception {
        Chart.Rendered rendered = Chart.bodyBasedRouting("bbr", "gw")
                .values("""
                        bbr:
                          baseModels:
                            Qwen/Qwen3-0.6B: Qwen/Qwen3-0.6B
                            food-review-1: Qwen/Qwen3-0.6B
                          flags:
                            v: 3
                        """).render();
        Container c = container(rendered);
        assertTrue(c.getArgs().contains("--base-model-map=/config/base-models.yaml"), c.getArgs().toString());
        assertTrue(c.getArgs().contains("--v=3"));
        assertEquals("/config", c.getVolumeMounts().stream().filter(m -> m.getName().equals("config"))
                .findFirst().orElseThrow().getMountPath());
        String file = rendered.get(ConfigMap.class, NAME).getData().get("base-models.yaml");
        assertEquals(Map.of("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "food-review-1", "Qwen/Qwen3-0.6B"),
                BbrConfig.parseFlatMap(file));

        // the rendered command line starts the router (ports moved off the defaults, the file where it mounts)
        Path map = dir.resolve("base-models.yaml");
        Files.writeString(map, file);
        List<String> args = new ArrayList<>();
        for (String a : c.getArgs()) {
            args.add(a.startsWith("--base-model-map=") ? "--base-model-map=" + map
                    : a.matches("--(grpc|grpc-health|metrics)-port=.*") ? a.replaceAll("=.*", "=0") : a);
        }
        args.add("--secure-serving=false");
        try (BbrServer server = BbrServer.start(EppOptions.parse(args.toArray(new String[0])),
                new PrometheusRegistry(), Duration.ofSeconds(1))) {
            assertTrue(server.grpcPort() > 0);
        }
    }

    @Test
    void theDeployGuidesSetFlagsWithEscapedDotsGiveTheSameMap() throws Exception {
        Chart.Rendered rendered = Chart.bodyBasedRouting("bbr", "gw")
                .set("bbr.baseModels.Qwen/Qwen3-0\\.6B", "Qwen/Qwen3-0.6B")
                .set("bbr.baseModels.my-qwen-lora", "Qwen/Qwen3-0.6B").render();
        assertEquals(Map.of("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "my-qwen-lora", "Qwen/Qwen3-0.6B"),
                BbrConfig.parseFlatMap(rendered.get(ConfigMap.class, NAME).getData().get("base-models.yaml")));
    }

    @Test
    void aCelExpressionAndAPluginConfigArePassedAsFlags() throws Exception {
        String cel = "{\"food-review-1\": \"Qwen/Qwen3-0.6B\"}[json(request.body).model]";
        Chart.Rendered rendered = Chart.bodyBasedRouting("bbr", "gw")
                .set("bbr.baseModelCel", cel)
                .set("bbr.pluginsConfig", "plugins:\n- type: body-field-to-header\n- type: base-model-to-header\n")
                .render();
        Container c = container(rendered);
        assertTrue(c.getArgs().contains("--base-model-cel=" + cel), c.getArgs().toString());
        assertTrue(c.getArgs().contains("--config-file=/config/plugins.yaml"));
        assertEquals(2, BbrConfig.parse(rendered.get(ConfigMap.class, NAME).getData().get("plugins.yaml"))
                .plugins().size());
        assertNotNull(rendered.get(Deployment.class, NAME).getSpec().getTemplate().getMetadata().getAnnotations()
                .get("checksum/plugins"));
    }

    @Test
    void bothAMapAndAnExpressionFailTheInstall() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chart.bodyBasedRouting("bbr", "gw")
                .set("bbr.baseModels.a", "b").set("bbr.baseModelCel", "'b'").render());
        assertTrue(e.getMessage().contains("mutually exclusive"), e.getMessage());
    }

    @Test
    void istioInsertsTheExtProcFilterFirstOnTheGatewayInFullDuplex() {
        Chart.Rendered rendered = Chart.bodyBasedRouting("bbr", "gw")
                .set("provider.name", "istio").set("inferenceGateway.name", "my-gateway").render();
        GenericKubernetesResource filter = rendered.generic("EnvoyFilter", NAME);
        assertEquals("my-gateway", filter.get("spec", "targetRefs", 0, "name"));
        assertEquals("INSERT_FIRST", filter.get("spec", "configPatches", 0, "patch", "operation"));
        Object mode = filter.get("spec", "configPatches", 0, "patch", "value", "typed_config", "processing_mode");
        assertEquals(Map.of("request_header_mode", "SEND", "response_header_mode", "SEND",
                "request_body_mode", "FULL_DUPLEX_STREAMED", "response_body_mode", "FULL_DUPLEX_STREAMED",
                "request_trailer_mode", "SEND", "response_trailer_mode", "SEND"), mode);
        assertEquals("outbound|9004||body-based-router.gw.svc.cluster.local", filter.get("spec", "configPatches", 0,
                "patch", "value", "typed_config", "grpc_service", "envoy_grpc", "cluster_name"));
        GenericKubernetesResource rule = rendered.generic("DestinationRule", NAME);
        assertEquals(Map.of("mode", "SIMPLE", "insecureSkipVerify", true), rule.get("spec", "trafficPolicy", "tls"));
    }

    @Test
    void unknownValuesFailTheSchema() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chart.bodyBasedRouting("bbr", "gw")
                .set("bbr.baseModel", "typo").render());
        assertTrue(e.getMessage().contains("baseModel"), e.getMessage());
    }

    @Test
    void lintsWithAndWithoutIstio() {
        for (Chart chart : List.of(Chart.bodyBasedRouting("bbr", "gw").set("bbr.baseModels.a", "b"),
                Chart.bodyBasedRouting("bbr", "gw").set("provider.name", "istio"))) {
            var lint = chart.lint();
            assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
        }
    }
}
