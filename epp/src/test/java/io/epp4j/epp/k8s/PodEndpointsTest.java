package io.epp4j.epp.k8s;

import io.epp4j.spi.EndpointInfo;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which endpoints a pod yields, as a table: readiness, termination, labels, IP, active-ports. */
class PodEndpointsTest {

    private static final PoolSpec POOL = new PoolSpec("pool", "ns", Map.of("app", "vllm"),
            List.of(8000, 8001, 8002), "http");

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "ready, matching                  | True  | vllm  | 10.0.0.1 | false | null          | 8000 8001 8002",
            "not ready                        | False | vllm  | 10.0.0.1 | false | null          | ''",
            "no Ready condition               | null  | vllm  | 10.0.0.1 | false | null          | ''",
            "terminating                      | True  | vllm  | 10.0.0.1 | true  | null          | ''",
            "labels do not match              | True  | web   | 10.0.0.1 | false | null          | ''",
            "no IP yet                        | True  | vllm  | ''       | false | null          | ''",
            "active-ports subset              | True  | vllm  | 10.0.0.1 | false | 8002,8000     | 8000 8002",
            "active-ports junk ignored        | True  | vllm  | 10.0.0.1 | false | ' 8001 ,x,9' | 8001",
            "active-ports empty: none active  | True  | vllm  | 10.0.0.1 | false | ''            | ''"})
    void podYieldsEndpointsPerActiveRank(String description, String ready, String app, String ip,
                                         boolean terminating, String activePorts, String expectedPorts) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName("p").withNamespace("ns")
                .withLabels(Map.of("app", app)).endMetadata()
                .withNewStatus().withPodIP(ip).endStatus();
        if (ready != null) {
            b.editStatus().addNewCondition().withType("Ready").withStatus(ready).endCondition().endStatus();
        }
        if (terminating) {
            b.editMetadata().withDeletionTimestamp("2026-01-01T00:00:00Z").endMetadata();
        }
        if (activePorts != null) {
            b.editMetadata().addToAnnotations(PodEndpoints.ACTIVE_PORTS_ANNOTATION, activePorts).endMetadata();
        }
        Pod pod = b.build();

        List<EndpointInfo> endpoints = PodEndpoints.of(POOL, pod);

        String ports = endpoints.stream().map(e -> String.valueOf(e.port())).collect(Collectors.joining(" "));
        assertEquals(expectedPorts, ports, description);
        for (EndpointInfo e : endpoints) {
            int rank = POOL.targetPorts().indexOf(e.port());
            assertEquals("p-rank-" + rank, e.name(), "rank names follow the pool's port order");
            assertEquals(Arrays.asList("ns", "p", ip), Arrays.asList(e.namespace(), e.podName(), e.ip()));
        }
    }
}
