package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** inferenceExtension.monitoring and .tracing. */
class MonitoringTest {

    @Test
    void prometheusGetsAServiceMonitorWithTheTokenOfTheEppServiceAccount() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.monitoring.prometheus.enabled", true)
                .set("inferenceExtension.monitoring.prometheus.extraLabels.release", "kube-prometheus")
                .render();
        GenericKubernetesResource monitor = rendered.generic("ServiceMonitor", "pool-epp-monitor");
        assertEquals("kube-prometheus", monitor.getMetadata().getLabels().get("release"));
        assertEquals("http-metrics", monitor.get("spec", "endpoints", 0, "port"));
        assertEquals("10s", monitor.get("spec", "endpoints", 0, "interval"));
        assertEquals(Map.of("name", "inference-gateway-sa-metrics-reader-secret", "key", "token"),
                monitor.get("spec", "endpoints", 0, "authorization", "credentials"));
        Map<String, String> serviceLabels = rendered.get(io.fabric8.kubernetes.api.model.Service.class, "pool-epp")
                .getMetadata().getLabels();
        Map<String, String> selector = monitor.get("spec", "selector", "matchLabels");
        selector.forEach((k, v) -> assertEquals(v, serviceLabels.get(k), k));

        Secret token = rendered.get(Secret.class, "inference-gateway-sa-metrics-reader-secret");
        assertEquals("kubernetes.io/service-account-token", token.getType());
        assertEquals("pool-epp", token.getMetadata().getAnnotations().get("kubernetes.io/service-account.name"));

        ClusterRole role = rendered.get(ClusterRole.class, "pool-llm-epp");
        assertTrue(role.getRules().stream().anyMatch(r -> r.getResources().contains("tokenreviews")));
        assertTrue(role.getRules().stream().anyMatch(r -> r.getNonResourceURLs().contains("/metrics")));
        assertEquals("pool-epp", rendered.get(ClusterRoleBinding.class, "pool-llm-epp").getSubjects().get(0).getName());

        List<String> args = DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs();
        assertFalse(args.contains("--metrics-endpoint-auth=false"));
    }

    @Test
    void prometheusLints() {
        var lint = Chart.release("pool", "llm").set("inferenceExtension.monitoring.prometheus.enabled", true).lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void disabledMetricsAuthIsPassedToTheEppAndDropsTheTokenSecret() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.monitoring.prometheus.enabled", true)
                .set("inferenceExtension.monitoring.prometheus.auth.enabled", false)
                .render();
        assertTrue(DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs().contains("--metrics-endpoint-auth=false"));
        assertTrue(rendered.ofKind("Secret").isEmpty());
        assertNull(rendered.generic("ServiceMonitor", "pool-epp-monitor").get("spec", "endpoints", 0, "authorization"));
    }

    @Test
    void tracingTurnsTheFlagOnAndSetsTheOtelEnvironment() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.tracing.enabled", true)
                .set("inferenceExtension.tracing.otelExporterEndpoint", "http://otel:4317")
                .render();
        var epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        assertTrue(epp.getArgs().contains("--tracing=true"), epp.getArgs()::toString);
        assertFalse(epp.getArgs().contains("--tracing=false"));
        Map<String, String> env = new java.util.HashMap<>();
        epp.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        assertEquals("http://otel:4317", env.get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assertEquals("parentbased_traceidratio", env.get("OTEL_TRACES_SAMPLER"));
        assertEquals("0.1", env.get("OTEL_TRACES_SAMPLER_ARG"));
    }
}
