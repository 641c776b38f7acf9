package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The exact {@code helm upgrade --install} flags of the two-pool walkthrough (docs/deploy.md), written for GAIE's
 * chart: with this chart they must give the same pool, route and EPP objects.
 */
class SeedWalkthroughTest {

    private static Chart seedRelease(String release, String podLabel, String baseModel) {
        return Chart.bare(release, "default")
                .set("inferencePool.modelServers.matchLabels.app", podLabel)
                .set("provider.name", "none")
                .set("inferencePool.modelServerType", "vllm")
                .set("experimentalHttpRoute.enabled", true)
                .set("experimentalHttpRoute.baseModel", baseModel);
    }

    @ParameterizedTest(name = "{0} serves {2}")
    @CsvSource({
            "vllm-qwen3-06b, vllm-qwen3-06b, Qwen/Qwen3-0.6B",
            "vllm-tinyllama, vllm-tinyllama, TinyLlama/TinyLlama-1.1B-Chat-v1.0"})
    void seedFlagsGiveAPoolAndARouteMatchingTheBaseModelHeader(String release, String podLabel, String baseModel) {
        Chart.Rendered rendered = seedRelease(release, podLabel, baseModel).render();

        GenericKubernetesResource pool = rendered.generic("InferencePool", release);
        assertEquals(Map.of("app", podLabel), pool.get("spec", "selector", "matchLabels"));
        assertEquals(release + "-epp", pool.get("spec", "endpointPickerRef", "name"));

        GenericKubernetesResource route = rendered.generic("HTTPRoute", release);
        assertEquals("gateway.networking.k8s.io/v1", route.getApiVersion());
        assertEquals(List.of(Map.of("group", "gateway.networking.k8s.io", "kind", "Gateway",
                "name", "inference-gateway")), route.get("spec", "parentRefs"));
        assertEquals(List.of(Map.of("group", "inference.networking.k8s.io", "kind", "InferencePool",
                "name", release)), route.get("spec", "rules", 0, "backendRefs"));
        assertEquals(List.of(Map.of(
                        "path", Map.of("type", "PathPrefix", "value", "/"),
                        "headers", List.of(Map.of("type", "Exact", "name", "X-Gateway-Base-Model-Name",
                                "value", baseModel)))),
                route.get("spec", "rules", 0, "matches"));
        assertEquals("300s", route.get("spec", "rules", 0, "timeouts", "request"));
        HTTPRoute typed = rendered.get(HTTPRoute.class, release);
        assertEquals("X-Gateway-Base-Model-Name",
                typed.getSpec().getRules().get(0).getMatches().get(0).getHeaders().get(0).getName());

        List<String> args = DefaultValuesTest.eppContainer(rendered, release + "-epp").getArgs();
        assertEquals(List.of("--pool-name", release), args.subList(0, 2));
        assertFalse(args.stream().anyMatch(a -> a.contains("metric")), args::toString);
    }

    @ParameterizedTest(name = "lint {0}")
    @CsvSource({
            "vllm-qwen3-06b, vllm-qwen3-06b, Qwen/Qwen3-0.6B",
            "vllm-tinyllama, vllm-tinyllama, TinyLlama/TinyLlama-1.1B-Chat-v1.0"})
    void seedFlagsLintCleanly(String release, String podLabel, String baseModel) {
        var lint = seedRelease(release, podLabel, baseModel).lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void gatewayInAnotherNamespaceNeedsNoHandPatchingOfTheRoute() {
        Chart.Rendered rendered = seedRelease("vllm-qwen3-06b", "vllm-qwen3-06b", "Qwen/Qwen3-0.6B")
                .set("experimentalHttpRoute.inferenceGatewayNamespace", "agentgateway-system")
                .render();
        GenericKubernetesResource route = rendered.generic("HTTPRoute", "vllm-qwen3-06b");
        assertEquals("agentgateway-system", route.get("spec", "parentRefs", 0, "namespace"));
        assertEquals("inference-gateway", route.get("spec", "parentRefs", 0, "name"));
    }

    @Test
    void emptyGatewayNameFallsBackToReleaseGatewayAndRouteWithoutBaseModelMatchesEverything() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("experimentalHttpRoute.enabled", true)
                .set("experimentalHttpRoute.inferenceGatewayName", "")
                .render();
        GenericKubernetesResource route = rendered.generic("HTTPRoute", "pool");
        assertEquals("pool-inference-gateway", route.get("spec", "parentRefs", 0, "name"));
        assertNull(route.get("spec", "parentRefs", 0, "namespace"));
        assertEquals(List.of(Map.of("path", Map.of("type", "PathPrefix", "value", "/"))),
                route.get("spec", "rules", 0, "matches"));
    }

    @Test
    void extraHeaderMatchesAreExactMatches() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("experimentalHttpRoute.enabled", true)
                .set("experimentalHttpRoute.baseModel", "m")
                .set("experimentalHttpRoute.headerMatches.x-tenant", "blue")
                .render();
        assertEquals(List.of(
                        Map.of("type", "Exact", "name", "X-Gateway-Base-Model-Name", "value", "m"),
                        Map.of("type", "Exact", "name", "x-tenant", "value", "blue")),
                rendered.generic("HTTPRoute", "pool").get("spec", "rules", 0, "matches", 0, "headers"));
    }
}
