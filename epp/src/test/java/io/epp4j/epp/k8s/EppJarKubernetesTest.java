package io.epp4j.epp.k8s;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shaded jar ({@code java -jar epp.jar}) against the mock API server through KUBECONFIG. The jar is built in
 * the package phase, after the tests, so this runs only when asked for:
 * {@code ./mvnw -pl epp -am package -DskipTests} then
 * {@code ./mvnw -pl epp -am test -Dtest=EppJarKubernetesTest -Depp4j.jar=epp/target/epp.jar}.
 */
class EppJarKubernetesTest {

    @TempDir
    Path dir;

    @Test
    void shadedJarServesThePoolFoundThroughKubeconfig() throws Exception {
        String jar = System.getProperty("epp4j.jar", "");
        assumeTrue(!jar.isEmpty(), "set -Depp4j.jar=<path to epp.jar> to run");
        Path jarPath = Path.of(jar).isAbsolute() ? Path.of(jar) : Path.of("..").resolve(jar).normalize();
        if (!Files.exists(jarPath)) {
            jarPath = Path.of(jar);
        }
        assumeTrue(Files.exists(jarPath), "no jar at " + jar);
        try (MockApiServer api = new MockApiServer()) {
            Map<String, String> app = Map.of("app", "vllm");
            api.createPod(api.pod("vllm-a", app, true));
            api.create(POOL_V1, MockApiServer.poolV1("pool", app, 8000));
            EppProcess epp = EppProcess.start(List.of("-jar", jarPath.toAbsolutePath().toString()),
                    api.writeKubeconfig(dir), dir, "epp-jar", Map.of(), "--pool-name=pool", "--pool-namespace=" + NS);
            try {
                await("serving", Duration.ofSeconds(30),
                        () -> epp.health("inference-extension") == ServingStatus.SERVING);
                assertEquals(api.ipOf("vllm-a") + ":8000", epp.request("llama").destination());
            } finally {
                epp.stop();
            }
        }
    }
}
