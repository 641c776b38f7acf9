package io.epp4j.epp;

import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.epp4j.gatewaykit.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

/** The process around the ext_proc service: health, metrics, endpoint sources and graceful shutdown. */
class EppServerTest {

    private static ServingStatus health(int port, String service) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port,
                InsecureChannelCredentials.create()).build();
        try {
            return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
        } finally {
            channel.shutdownNow();
        }
    }

    private static EppServer start(EppServer.Components components, String... flags) throws Exception {
        String[] base = {"--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false"};
        String[] all = new String[base.length + flags.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(flags, 0, all, base.length, flags.length);
        return EppServer.start(EppOptions.parse(all), components);
    }

    @Test
    void decisionsMayBlockOnlyWhileAPluginWaitsForARemoteCall() throws Exception {
        String remote = """
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: remote-scorer
                  parameters:
                    target: 127.0.0.1:1
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: remote-scorer
                """;
        io.prometheus.metrics.model.registry.PrometheusRegistry registry =
                new io.prometheus.metrics.model.registry.PrometheusRegistry();
        try (var plain = io.epp4j.epp.scheduling.SchedulerFactory.fromOptions(null, null, null, registry,
                     java.time.Clock.systemUTC());
             var withRemote = io.epp4j.epp.scheduling.SchedulerFactory.fromOptions(null, remote, null,
                     new io.prometheus.metrics.model.registry.PrometheusRegistry(), java.time.Clock.systemUTC())) {
            assertFalse(plain.mayBlock());
            assertTrue(withRemote.mayBlock());
            // a reload that brings the first remote scorer moves decisions to the blocking threads at once
            plain.swap(withRemote.config());
            assertTrue(plain.mayBlock());
        }
        assertFalse(new io.epp4j.epp.director.RandomScheduler(new java.util.Random(1)).mayBlock());
    }

    @Test
    void healthIsServingForAnyServiceOnceStaticEndpointsAreLoaded() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults(), "--endpoints=10.0.0.1:8000")) {
            assertEquals(ServingStatus.SERVING, health(server.healthPort(), "inference-extension"));
            assertEquals(ServingStatus.SERVING, health(server.healthPort(), ""));
            assertEquals(ServingStatus.SERVING, health(server.healthPort(), "anything"));
        }
    }

    @Test
    void healthIsNotServingUntilThePoolIsSynced() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults().endpointSource(c -> () -> { }),
                "--pool-name=pool")) {
            assertEquals(ServingStatus.NOT_SERVING, health(server.healthPort(), "inference-extension"));
            server.endpointStore().setSynced(true);
            assertEquals(ServingStatus.SERVING, health(server.healthPort(), "inference-extension"));
        }
    }

    @Test
    void leaderElectionHealthFollowsGaie() throws Exception {
        AtomicBoolean leader = new AtomicBoolean(false);
        try (EppServer server = start(EppServer.Components.defaults().leader(leader::get),
                "--endpoints=10.0.0.1:8000", "--ha-enable-leader-election")) {
            int port = server.healthPort();
            assertEquals(ServingStatus.SERVING, health(port, "liveness"));
            assertEquals(ServingStatus.NOT_SERVING, health(port, "readiness"));
            assertEquals(ServingStatus.NOT_SERVING, health(port, "envoy.service.ext_proc.v3.ExternalProcessor"));
            assertEquals(ServingStatus.SERVICE_UNKNOWN, health(port, "inference-extension"));
            leader.set(true);
            assertEquals(ServingStatus.SERVING, health(port, "readiness"));
            assertEquals(ServingStatus.SERVING, health(port, ""));
        }
    }

    @Test
    void healthCheckingFlagAddsHealthOnTheExtProcPort() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults(), "--endpoints=10.0.0.1:8000",
                "--health-checking")) {
            assertEquals(ServingStatus.SERVING, health(server.grpcPort(),
                    "envoy.service.ext_proc.v3.ExternalProcessor"));
        }
    }

    @Test
    void metricsEndpointServesGaieMetricNames() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("llama", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 100, null);
            s.next();
            s.nextUntilBodyEnd(true);
            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200"), false, null),
                    responseBody(utf8("{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"), true, null));
            s.next();
            s.nextUntilBodyEnd(false);
            s.halfClose();
            s.awaitClose();
            GatewayStream bad = epp.open();
            bad.send(requestHeaders(Dialect.ISTIO, post("/v1/chat/completions", 1), false, fullDuplex()),
                    requestBody(utf8("x"), true, null));
            bad.next();

            String text = epp.metricsText();
            for (String expected : new String[] {
                "inference_objective_request_total{model_name=\"llama\",priority=\"0\",target_model_name=\"llama\"} 1",
                "inference_objective_request_error_total{error_code=\"BadRequest\"",
                "inference_objective_request_duration_seconds_bucket{",
                "inference_objective_request_sizes_bucket{",
                "inference_objective_response_sizes_bucket{",
                "inference_objective_input_tokens_sum{model_name=\"llama\",target_model_name=\"llama\"} 3",
                "inference_objective_output_tokens_sum{model_name=\"llama\",target_model_name=\"llama\"} 4",
                "inference_objective_running_requests{model_name=\"llama\"} 0",
                "inference_extension_info{",
                "# HELP inference_objective_request_total [ALPHA]"}) {
                assertTrue(text.contains(expected), "missing " + expected + " in\n" + text);
            }
        }
    }

    @Test
    void endpointsFileIsReloadedWhenItChangesAndBadContentKeepsThePool(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("endpoints.txt");
        Files.writeString(file, "# pool\n10.0.0.1:8000\n10.0.0.2:8000 # second\n");
        try (EppServer server = start(EppServer.Components.defaults(), "--endpoints-file=" + file)) {
            assertEquals(2, server.endpointStore().size());
            assertTrue(server.endpointStore().synced());
            Files.writeString(file, "10.0.0.3:8000\n");
            Await.until("reload", () -> server.endpointStore().get("10.0.0.3:8000") != null
                    && server.endpointStore().size() == 1);
            Files.writeString(file, "not-an-endpoint\n");
            Files.writeString(dir.resolve("marker"), "x");
            // the bad file must not empty the pool; give the poller a few rounds, then check it kept the pool
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < deadline) {
                assertEquals(1, server.endpointStore().size());
                Thread.sleep(100);
            }
        }
    }

    @Test
    void missingEndpointsFileFailsTheStart(@TempDir Path dir) {
        assertThrows(java.io.IOException.class, () -> start(EppServer.Components.defaults(),
                "--endpoints-file=" + dir.resolve("absent")));
    }

    @Test
    void gracefulShutdownFinishesTheOpenStreamAndRefusesNewOnes() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.TCP, "--endpoints=10.0.0.1:8000", "--grace-period=30s")) {
            byte[] body = chatBody("llama", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 100, null);
            assertTrue(s.next().hasRequestHeaders());
            s.nextUntilBodyEnd(true);

            CompletableFuture<Void> closing = CompletableFuture.runAsync(epp.server::close);
            Await.until("health drained", () -> {
                try {
                    return health(epp.server.healthPort(), "") == ServingStatus.NOT_SERVING;
                } catch (RuntimeException e) {
                    return false;
                }
            });
            GatewayStream late = epp.open();
            late.send(requestHeaders(Dialect.ISTIO, post("/v1/completions", 1), false, fullDuplex()));
            assertEquals(Status.Code.UNAVAILABLE, late.awaitClose().getCode());
            assertFalse(closing.isDone(), "close waits for the open stream");

            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200"), false, null),
                    responseBody(utf8("{}"), true, null));
            assertTrue(s.next().hasResponseHeaders());
            s.nextUntilBodyEnd(false);
            s.halfClose();
            assertEquals(Status.Code.OK, s.awaitClose().getCode());
            closing.get(20, TimeUnit.SECONDS);
            assertEquals(0, epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests());
        }
    }

    @Test
    void graceExpiryCutsStreamsThatDoNotFinish() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.TCP, "--endpoints=10.0.0.1:8000", "--grace-period=200ms")) {
            byte[] body = chatBody("llama", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 100, null);
            s.next();
            s.nextUntilBodyEnd(true);
            epp.server.close();
            assertNotEquals(Status.Code.OK, s.awaitClose().getCode());
            Await.until("released", () -> epp.server.endpointStore().get("10.0.0.1:8000").inFlightRequests() == 0);
        }
    }

    @Test
    void portZeroBindsEphemeralPorts() throws Exception {
        try (EppServer server = start(EppServer.Components.defaults(), "--endpoints=10.0.0.1:8000")) {
            assertTrue(server.grpcPort() > 0);
            assertTrue(server.healthPort() > 0);
            assertTrue(server.metricsPort() > 0);
            assertNotEquals(server.grpcPort(), server.healthPort());
        }
    }
}
