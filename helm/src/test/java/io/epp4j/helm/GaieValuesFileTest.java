package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.Container;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A values file written for GAIE's inferencepool chart v1.5.0 — every key of its values.yaml with GAIE's defaults,
 * the latency-predictor block included — is accepted as is; only the image has to point at epp4j.
 */
class GaieValuesFileTest {

    static final String GAIE_VALUES = """
            inferenceExtension:
              replicas: 1
              image:
                registry: registry.k8s.io
                repository: gateway-api-inference-extension/epp
                tag: v1.5.0
                pullPolicy: Always
              extProcPort: 9002
              failureMode: FailOpen
              env: []
              pluginsConfigFile: "default-plugins.yaml"
              pluginsCustomConfig: {}
              extraContainerPorts: []
              extraServicePorts: []
              flags:
                v: 1
              affinity: {}
              tolerations: []
              resources:
                requests:
                  cpu: "4"
                  memory: 8Gi
                limits:
                  memory: 16Gi
              sidecar:
                enabled: false
              monitoring:
                interval: "10s"
                prometheus:
                  enabled: false
                  auth:
                    enabled: true
                    secretName: inference-gateway-sa-metrics-reader-secret
                  extraLabels: {}
              tracing:
                enabled: false
                otelExporterEndpoint: "http://localhost:4317"
                sampling:
                  sampler: "parentbased_traceidratio"
                  samplerArg: "0.1"
              latencyPredictor:
                enabled: false
                trainingServer:
                  image:
                    hub: path/to/your/docker/repo
                    name: latencypredictor-training-server
                    tag: latest
                  port: 8000
                predictionServers:
                  count: 10
                  startPort: 8001
                eppEnv:
                  LATENCY_MAX_SAMPLE_SIZE: "10000"
              metricsDataSource:
                scheme: http
                path: /metrics
                insecureSkipVerify: true
            inferencePool:
              targetPorts:
                - number: 8000
              modelServerType: vllm
              modelServerProtocol: http
              parser: ""
              apiVersion: inference.networking.k8s.io/v1
              modelServers:
                matchLabels:
                  app: vllm-llama3-8b-instruct
            provider:
              name: none
              gke:
                autopilot: false
              istio:
                destinationRule:
                  host: ""
                  trafficPolicy: {}
            experimentalHttpRoute:
              enabled: false
              inferenceGatewayName: inference-gateway
              requestTimeout: "300s"
            inferenceObjectives: []
            """;

    @Test
    void gaieValuesFileRendersWithTheImageItNames() {
        Chart.Rendered rendered = Chart.bare("pool", "llm").values(GAIE_VALUES).render();
        Container epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        assertEquals("registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0", epp.getImage());
        assertEquals("Always", epp.getImagePullPolicy());
        assertEquals(List.of("--v=1", "--tracing=false"), epp.getArgs().subList(10, epp.getArgs().size()));
    }

    @Test
    void gaieValuesFileWithTheEpp4jImageLints() {
        var lint = Chart.bare("pool", "llm").values(GAIE_VALUES)
                .set("inferenceExtension.image.registry", "ghcr.io")
                .set("inferenceExtension.image.repository", "epp4j/epp4j")
                .set("inferenceExtension.image.tag", "0.1.0")
                .lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }
}
