package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The EPP pod's hardening by default, the image's non-root user, and mutual TLS (clientTLS). */
class SecurityTest {

    private static PodSpec pod(Chart.Rendered rendered) {
        return rendered.get(Deployment.class, "pool-epp").getSpec().getTemplate().getSpec();
    }

    @Test
    void defaultsRunTheEppNonRootReadOnlyWithoutCapabilitiesUnderRuntimeDefaultSeccomp() {
        Chart.Rendered rendered = Chart.release("pool", "llm").render();
        PodSecurityContext podContext = pod(rendered).getSecurityContext();
        assertEquals(Boolean.TRUE, podContext.getRunAsNonRoot());
        assertEquals(65532L, podContext.getRunAsUser());
        assertEquals("RuntimeDefault", podContext.getSeccompProfile().getType());

        Container epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        SecurityContext context = epp.getSecurityContext();
        assertEquals(Boolean.TRUE, context.getReadOnlyRootFilesystem());
        assertEquals(Boolean.FALSE, context.getAllowPrivilegeEscalation());
        assertEquals(Boolean.TRUE, context.getRunAsNonRoot());
        assertEquals(List.of("ALL"), context.getCapabilities().getDrop());

        // with a read-only root, the JVM's temp directory is a writable emptyDir
        VolumeMount tmp = epp.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst()
                .orElseThrow();
        Volume volume = pod(rendered).getVolumes().stream().filter(v -> v.getName().equals(tmp.getName()))
                .findFirst().orElseThrow();
        assertTrue(volume.getEmptyDir() != null, volume.toString());
    }

    @Test
    void imageRunsAsTheSameFixedNonRootUser() throws Exception {
        String dockerfile = Files.readString(Path.of("..", "Dockerfile"));
        assertTrue(dockerfile.lines().anyMatch(l -> l.trim().equals("USER 65532:65532")), dockerfile);
        assertTrue(dockerfile.contains("-Djava.io.tmpdir=/tmp"), "the JVM writes only to /tmp");
    }

    @Test
    void clientTlsMountsTheCaSecretAndPassesItsFlags() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.clientTLS.caSecretName", "gateway-ca")
                .set("inferenceExtension.clientTLS.allowedSANs[0]", "spiffe://cluster.local/ns/gw/sa/gateway")
                .set("inferenceExtension.clientTLS.allowedSANs[1]", "gateway.example")
                .render();
        Container epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        assertTrue(epp.getArgs().contains("--client-ca=/etc/epp4j/client-ca"), epp.getArgs().toString());
        assertTrue(epp.getArgs().contains(
                "--client-san-allow=spiffe://cluster.local/ns/gw/sa/gateway,gateway.example"), epp.getArgs().toString());
        VolumeMount mount = epp.getVolumeMounts().stream().filter(m -> m.getName().equals("client-ca")).findFirst()
                .orElseThrow();
        assertEquals("/etc/epp4j/client-ca", mount.getMountPath());
        assertEquals(Boolean.TRUE, mount.getReadOnly());
        Volume volume = pod(rendered).getVolumes().stream().filter(v -> v.getName().equals("client-ca")).findFirst()
                .orElseThrow();
        assertEquals("gateway-ca", volume.getSecret().getSecretName());
    }

    @Test
    void withoutClientTlsAnyoneWhoReachesThePortMayCallAsWithGaie() {
        Container epp = DefaultValuesTest.eppContainer(Chart.release("pool", "llm").render(), "pool-epp");
        assertFalse(epp.getArgs().stream().anyMatch(a -> a.startsWith("--client-")), epp.getArgs().toString());
        assertFalse(epp.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("client-ca")));
    }

    @Test
    void allowedSansWithoutACaSecretFailTheInstallWithAReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chart.release("pool", "llm")
                .set("inferenceExtension.clientTLS.allowedSANs[0]", "gateway.example").render());
        assertTrue(e.getMessage().contains("needs inferenceExtension.clientTLS.caSecretName"), e.getMessage());
    }
}
