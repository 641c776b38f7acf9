package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** provider.name: the gateway-specific objects each provider needs next to the pool. */
class ProviderTest {

    @Test
    void istioGetsADestinationRuleThatOriginatesTlsWithoutVerifyingTheEppCertificate() {
        Chart.Rendered rendered = Chart.release("pool", "llm").set("provider.name", "istio").render();
        GenericKubernetesResource rule = rendered.generic("DestinationRule", "pool-epp");
        assertEquals("networking.istio.io/v1", rule.getApiVersion());
        assertEquals("pool-epp.llm.svc.cluster.local", rule.get("spec", "host"));
        assertEquals(Map.of("mode", "SIMPLE", "insecureSkipVerify", true), rule.get("spec", "trafficPolicy", "tls"));
        assertTrue(rendered.ofKind("HealthCheckPolicy").isEmpty());
    }

    @Test
    void istioTrafficPolicyFromValuesIsMergedOverTheTlsDefault() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("provider.name", "istio")
                .set("provider.istio.destinationRule.host", "epp.example")
                .set("provider.istio.destinationRule.trafficPolicy.connectionPool.http.http2MaxRequests", 1000)
                .render();
        GenericKubernetesResource rule = rendered.generic("DestinationRule", "pool-epp");
        assertEquals("epp.example", rule.get("spec", "host"));
        assertEquals("SIMPLE", rule.get("spec", "trafficPolicy", "tls", "mode"));
        assertEquals(1000, (Integer) rule.get("spec", "trafficPolicy", "connectionPool", "http", "http2MaxRequests"));
    }

    @Test
    void istioLints() {
        var lint = Chart.release("pool", "llm").set("provider.name", "istio").lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void gkeGetsHealthCheckAndBackendPoliciesAndARouteWithoutTimeout() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("provider.name", "gke")
                .set("experimentalHttpRoute.enabled", true)
                .render();
        GenericKubernetesResource health = rendered.generic("HealthCheckPolicy", "pool");
        assertEquals("InferencePool", health.get("spec", "targetRef", "kind"));
        assertEquals("/health", health.get("spec", "default", "config", "httpHealthCheck", "requestPath"));
        assertEquals(8000, (Integer) health.get("spec", "default", "config", "httpHealthCheck", "port"));
        GenericKubernetesResource backend = rendered.generic("GCPBackendPolicy", "pool");
        assertEquals(300, (Integer) backend.get("spec", "default", "timeoutSec"));
        assertNull(rendered.generic("HTTPRoute", "pool").get("spec", "rules", 0, "timeouts"));
        assertTrue(rendered.ofKind("DestinationRule").isEmpty());
    }

    @Test
    void gkeWithVllmGrpcHealthChecksTheVllmGrpcService() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("provider.name", "gke")
                .set("inferencePool.modelServerProtocol", "grpc")
                .render();
        GenericKubernetesResource health = rendered.generic("HealthCheckPolicy", "pool");
        assertEquals("GRPC", health.get("spec", "default", "config", "type"));
        assertEquals("/vllm.grpc.engine.VllmEngine/HealthCheck",
                health.get("spec", "default", "config", "grpcHealthCheck", "grpcServiceName"));
    }
}
