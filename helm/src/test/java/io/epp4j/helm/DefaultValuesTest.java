package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chart with only the required pod labels set: what a user gets from GAIE's defaults, with epp4j inside. */
class DefaultValuesTest {

    private static Chart.Rendered rendered;

    @BeforeAll
    static void render() {
        rendered = Chart.release("pool", "llm").render();
    }

    @Test
    void rendersExactlyTheObjectsOfGaieChartForDefaults() {
        assertEquals(List.of("ConfigMap/pool-epp", "Deployment/pool-epp", "InferencePool/pool",
                "Role/pool-epp-non-sa", "Role/pool-epp-sa", "RoleBinding/pool-epp-non-sa", "RoleBinding/pool-epp-sa",
                "Service/pool-epp", "ServiceAccount/pool-epp"), rendered.kinds());
    }

    @Test
    void lintPassesInStrictMode() {
        var lint = Chart.release("pool", "llm").lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void inferencePoolSelectsModelServersAndPointsAtTheEppService() {
        GenericKubernetesResource pool = rendered.generic("InferencePool", "pool");
        assertEquals("inference.networking.k8s.io/v1", pool.getApiVersion());
        assertEquals("llm", pool.getMetadata().getNamespace());
        assertEquals(Map.of("app", "pool"), pool.get("spec", "selector", "matchLabels"));
        assertEquals(List.of(Map.of("number", 8000)), pool.get("spec", "targetPorts"));
        assertEquals("http", pool.get("spec", "appProtocol"));
        assertEquals("pool-epp", pool.get("spec", "endpointPickerRef", "name"));
        assertEquals(9002, (Integer) pool.get("spec", "endpointPickerRef", "port", "number"));
        assertEquals("FailOpen", pool.get("spec", "endpointPickerRef", "failureMode"));
    }

    @Test
    void deploymentPassesGaieFlagsAndNothingElse() {
        Container epp = eppContainer();
        assertEquals(List.of("--pool-name", "pool", "--pool-namespace", "llm", "--pool-group",
                "inference.networking.k8s.io", "--zap-encoder", "json", "--config-file", "/config/default-plugins.yaml",
                "--v=1", "--tracing=false"), epp.getArgs());
        assertEquals("ghcr.io/epp4j/epp4j:0.1.0", epp.getImage());
    }

    @Test
    void deploymentExposesGrpcHealthAndMetricsPortsAndProbesTheSingleReplicaHealthService() {
        Container epp = eppContainer();
        assertEquals(Map.of("grpc", 9002, "grpc-health", 9003, "metrics", 9090), ports(epp));
        assertEquals(9003, epp.getLivenessProbe().getGrpc().getPort());
        assertEquals("inference-extension", epp.getLivenessProbe().getGrpc().getService());
        assertEquals("inference-extension", epp.getReadinessProbe().getGrpc().getService());
        assertEquals(2, epp.getReadinessProbe().getPeriodSeconds());
    }

    @Test
    void deploymentInjectsNamespaceAndPodNameFromTheDownwardApi() {
        Map<String, String> fieldRefs = new java.util.HashMap<>();
        for (EnvVar env : eppContainer().getEnv()) {
            if (env.getValueFrom() != null && env.getValueFrom().getFieldRef() != null) {
                fieldRefs.put(env.getName(), env.getValueFrom().getFieldRef().getFieldPath());
            }
        }
        assertEquals(Map.of("NAMESPACE", "metadata.namespace", "POD_NAME", "metadata.name"), fieldRefs);
    }

    @Test
    void eppRunsAsNonRootWithReadOnlyRootAndNoCapabilitiesButWritableTmp() {
        Deployment deployment = rendered.get(Deployment.class, "pool-epp");
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        Container epp = eppContainer();
        assertEquals("Recreate", deployment.getSpec().getStrategy().getType());
        assertEquals(130L, pod.getTerminationGracePeriodSeconds());
        assertEquals("pool-epp", pod.getServiceAccountName());
        assertTrue(pod.getSecurityContext().getRunAsNonRoot());
        assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType());
        assertTrue(epp.getSecurityContext().getReadOnlyRootFilesystem());
        assertFalse(epp.getSecurityContext().getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), epp.getSecurityContext().getCapabilities().getDrop());
        Map<String, String> mounts = new java.util.HashMap<>();
        epp.getVolumeMounts().forEach(m -> mounts.put(m.getMountPath(), m.getName()));
        assertEquals(Map.of("/config", "plugins-config-volume", "/tmp", "tmp"), mounts);
        Volume tmp = pod.getVolumes().stream().filter(v -> v.getName().equals("tmp")).findFirst().orElseThrow();
        assertTrue(tmp.getEmptyDir() != null, "tmp must be an emptyDir");
        Volume config = pod.getVolumes().stream().filter(v -> v.getName().equals("plugins-config-volume"))
                .findFirst().orElseThrow();
        assertEquals("pool-epp", config.getConfigMap().getName());
    }

    @Test
    void serviceSelectsTheEppPodsAndNamesItsPortsLikeGaie() {
        Service service = rendered.get(Service.class, "pool-epp");
        Map<String, String> podLabels = rendered.get(Deployment.class, "pool-epp").getSpec().getTemplate()
                .getMetadata().getLabels();
        service.getSpec().getSelector().forEach((k, v) -> assertEquals(v, podLabels.get(k)));
        assertEquals("ClusterIP", service.getSpec().getType());
        Map<String, Integer> ports = new java.util.HashMap<>();
        for (ServicePort port : service.getSpec().getPorts()) {
            ports.put(port.getName(), port.getPort());
        }
        assertEquals(Map.of("grpc-ext-proc", 9002, "http-metrics", 9090), ports);
    }

    @Test
    void configMapHoldsGaieDefaultSchedulingProfile() {
        ConfigMap configMap = rendered.get(ConfigMap.class, "pool-epp");
        Map<String, Object> config = Chart.yamlMap(configMap.getData().get("default-plugins.yaml"));
        assertEquals("inference.networking.x-k8s.io/v1alpha1", config.get("apiVersion"));
        assertEquals("EndpointPickerConfig", config.get("kind"));
        assertEquals(List.of(
                Map.of("type", "queue-scorer"),
                Map.of("type", "kv-cache-utilization-scorer"),
                Map.of("type", "prefix-cache-scorer"),
                Map.of("type", "metrics-data-source",
                        "parameters", Map.of("scheme", "http", "path", "/metrics", "insecureSkipVerify", true)),
                Map.of("type", "core-metrics-extractor")), config.get("plugins"));
        assertEquals(List.of(Map.of("name", "default", "plugins", List.of(
                Map.of("pluginRef", "queue-scorer", "weight", 2),
                Map.of("pluginRef", "kv-cache-utilization-scorer", "weight", 2),
                Map.of("pluginRef", "prefix-cache-scorer", "weight", 3)))), config.get("schedulingProfiles"));
        assertEquals(java.util.Set.of("apiVersion", "kind", "plugins", "schedulingProfiles"), config.keySet());
    }

    @Test
    void rbacGrantsOnlyReadAccessToWatchedObjectsAndNoLeases() {
        assertEquals(List.of(rule("", "pods")), rendered.get(Role.class, "pool-epp-sa").getRules());
        assertEquals(List.of(rule(List.of("inference.networking.x-k8s.io", "llm-d.ai"), "inferenceobjectives",
                                "inferencemodelrewrites"),
                        rule("inference.networking.k8s.io", "inferencepools")),
                rendered.get(Role.class, "pool-epp-non-sa").getRules());
        for (String binding : List.of("pool-epp-sa", "pool-epp-non-sa")) {
            RoleBinding roleBinding = rendered.get(RoleBinding.class, binding);
            assertEquals(binding, roleBinding.getRoleRef().getName());
            assertEquals("pool-epp", roleBinding.getSubjects().get(0).getName());
        }
        assertTrue(rendered.ofKind("ClusterRole").isEmpty());
    }

    @Test
    void noRouteNoMonitoringNoProviderObjectsByDefault() {
        for (String kind : List.of("HTTPRoute", "ServiceMonitor", "DestinationRule", "HealthCheckPolicy",
                "InferenceObjective", "Secret")) {
            assertTrue(rendered.ofKind(kind).isEmpty(), kind);
        }
        assertNull(eppContainer().getArgs().stream().filter(a -> a.contains("leader")).findFirst().orElse(null));
    }

    static PolicyRule rule(String group, String... resources) {
        return rule(List.of(group), resources);
    }

    static PolicyRule rule(List<String> groups, String... resources) {
        return new io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder()
                .withApiGroups(groups).withResources(resources).withVerbs("get", "watch", "list").build();
    }

    private static Container eppContainer() {
        return eppContainer(rendered, "pool-epp");
    }

    static Container eppContainer(Chart.Rendered rendered, String deployment) {
        return rendered.get(Deployment.class, deployment).getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> c.getName().equals("epp")).findFirst().orElseThrow();
    }

    static Map<String, Integer> ports(Container container) {
        Map<String, Integer> ports = new java.util.HashMap<>();
        container.getPorts().forEach(p -> ports.put(p.getName(), p.getContainerPort()));
        return ports;
    }
}
