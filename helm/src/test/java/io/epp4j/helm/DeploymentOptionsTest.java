package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The inferenceExtension values that shape the EPP pod, and inferenceObjectives. */
class DeploymentOptionsTest {

    @Test
    void userFlagsAreRenderedAsKeyEqualsValue() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.flags.v", 3)
                .set("inferenceExtension.flags.secure-serving", false)
                .set("inferenceExtension.flags.refresh-metrics-interval", "100ms")
                .render();
        List<String> args = DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs();
        assertEquals(List.of("--refresh-metrics-interval=100ms", "--secure-serving=false", "--v=3", "--tracing=false"),
                args.subList(10, args.size()));
    }

    @Test
    void imageRegistryRepositoryTagAndPullPolicyAreHonoured() {
        Container epp = DefaultValuesTest.eppContainer(Chart.release("pool", "llm")
                .set("inferenceExtension.image.registry", "registry.local:5000")
                .set("inferenceExtension.image.repository", "me/epp4j")
                .set("inferenceExtension.image.tag", "dev")
                .set("inferenceExtension.image.pullPolicy", "Always")
                .render(), "pool-epp");
        assertEquals("registry.local:5000/me/epp4j:dev", epp.getImage());
        assertEquals("Always", epp.getImagePullPolicy());

        Container local = DefaultValuesTest.eppContainer(Chart.release("pool", "llm")
                .set("inferenceExtension.image.registry", "")
                .set("inferenceExtension.image.repository", "epp4j")
                .render(), "pool-epp");
        assertEquals("epp4j:0.1.0", local.getImage());
    }

    @Test
    void changedExtProcPortMovesTheServiceAndThePoolButNotTheContainer() {
        Chart.Rendered rendered = Chart.release("pool", "llm").set("inferenceExtension.extProcPort", 9443).render();
        ServicePort grpc = rendered.get(Service.class, "pool-epp").getSpec().getPorts().get(0);
        assertEquals(9443, grpc.getPort());
        assertEquals("grpc", grpc.getTargetPort().getStrVal());
        assertEquals(9443, (Integer) rendered.generic("InferencePool", "pool")
                .get("spec", "endpointPickerRef", "port", "number"));
        assertEquals(9002, DefaultValuesTest.ports(DefaultValuesTest.eppContainer(rendered, "pool-epp")).get("grpc"));
    }

    @Test
    void envPortsVolumesAffinityAndTolerationsAreAddedToThePod() {
        Chart.Rendered rendered = Chart.release("pool", "llm").values("""
                inferenceExtension:
                  env:
                  - name: JAVA_TOOL_OPTIONS
                    value: -XX:+UseZGC
                  extraContainerPorts:
                  - name: debug
                    containerPort: 5005
                  extraServicePorts:
                  - name: debug
                    port: 5005
                    targetPort: debug
                  volumes:
                  - name: certs
                    secret:
                      secretName: epp-certs
                  volumeMounts:
                  - name: certs
                    mountPath: /certs
                  tolerations:
                  - key: dedicated
                    operator: Exists
                  affinity:
                    nodeAffinity:
                      requiredDuringSchedulingIgnoredDuringExecution:
                        nodeSelectorTerms:
                        - matchExpressions:
                          - key: pool
                            operator: In
                            values: [cpu]
                """).render();
        PodSpec pod = rendered.get(Deployment.class, "pool-epp").getSpec().getTemplate().getSpec();
        Container epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        assertTrue(epp.getEnv().stream().anyMatch(e -> e.getName().equals("JAVA_TOOL_OPTIONS")));
        assertEquals(5005, DefaultValuesTest.ports(epp).get("debug"));
        assertTrue(rendered.get(Service.class, "pool-epp").getSpec().getPorts().stream()
                .anyMatch(p -> p.getPort() == 5005));
        assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getName().equals("certs")));
        assertTrue(epp.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/certs")));
        assertEquals("dedicated", pod.getTolerations().get(0).getKey());
        assertEquals("pool", pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms().get(0).getMatchExpressions().get(0).getKey());
    }

    @Test
    void enabledSidecarRunsNextToTheEpp() {
        Chart.Rendered rendered = Chart.release("pool", "llm").values("""
                inferenceExtension:
                  sidecar:
                    enabled: true
                    name: proxy
                    image: example/proxy:1
                    args: [--port, "8081"]
                    configMap:
                      name: proxy-config
                      data:
                        config.yaml: "listen: 8081"
                """).render();
        List<Container> containers = rendered.get(Deployment.class, "pool-epp").getSpec().getTemplate().getSpec()
                .getContainers();
        assertEquals(List.of("epp", "proxy"), containers.stream().map(Container::getName).toList());
        assertEquals(List.of("--port", "8081"), containers.get(1).getArgs());
        assertEquals(Map.of("config.yaml", "listen: 8081"),
                rendered.get(io.fabric8.kubernetes.api.model.ConfigMap.class, "proxy-config").getData());
    }

    @Test
    void inferenceObjectivesReferenceThisPoolWithTheRightGroup() {
        Chart.Rendered rendered = Chart.release("pool", "llm").values("""
                inferenceObjectives:
                - name: critical
                  priority: 10
                - name: sheddable
                  priority: -1
                - name: standard
                """).render();
        GenericKubernetesResource critical = rendered.generic("InferenceObjective", "critical");
        assertEquals("inference.networking.x-k8s.io/v1alpha2", critical.getApiVersion());
        assertEquals(10, (Integer) critical.get("spec", "priority"));
        assertEquals(Map.of("group", "inference.networking.k8s.io", "kind", "InferencePool", "name", "pool"),
                critical.get("spec", "poolRef"));
        assertEquals(-1, (Integer) rendered.generic("InferenceObjective", "sheddable").get("spec", "priority"));
        assertNull(rendered.generic("InferenceObjective", "standard").get("spec", "priority"));
    }

    @Test
    void longReleaseNamesAreCutLikeGaie() {
        String release = "a-very-long-release-name-for-an-inference-pool-x";
        Chart.Rendered rendered = Chart.release(release, "llm").render();
        String epp = release.substring(0, 40) + "-epp";
        assertEquals(epp, rendered.get(Deployment.class, epp).getMetadata().getName());
        assertEquals(epp, rendered.generic("InferencePool", release).get("spec", "endpointPickerRef", "name"));
    }
}
