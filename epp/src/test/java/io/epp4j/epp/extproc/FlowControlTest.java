package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.epp4j.gatewaykit.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Flow control through the real ext_proc path: a pool of one endpoint that takes one request at a time
 * ({@code concurrency-detector}, {@code maxConcurrency: 1}), so the second request waits in a queue until the first
 * ends, and leaves it by priority, on its TTL, at capacity or when the gateway cancels.
 */
class FlowControlTest {

    private static final Duration QUEUED = Duration.ofMillis(150);

    static String config(String flowControl) {
        return """
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                featureGates: ["flowControl"]
                plugins:
                - {type: concurrency-detector, parameters: {maxConcurrency: 1}}
                - {type: round-robin-fairness-policy}
                saturationDetector: {pluginRef: concurrency-detector}
                flowControl:
                """ + flowControl.indent(2);
    }

    /** Priorities the way a static-mode user declares them: InferenceObjectives in the CRD's YAML. */
    static final String OBJECTIVES = """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: critical}
            spec: {priority: 10, poolRef: {name: pool}}
            ---
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: batch}
            spec: {priority: -1, poolRef: {name: pool}}
            """;

    private static EppFixture start(Transport transport, String flowControl, String... flags) throws Exception {
        Path objectives = Files.createTempFile("objectives", ".yaml");
        objectives.toFile().deleteOnExit();
        Files.writeString(objectives, OBJECTIVES);
        List<String> args = new ArrayList<>(List.of("--config-text=" + config(flowControl),
                "--inference-objectives-file=" + objectives));
        args.addAll(List.of(flags));
        return EppFixture.start(transport, args.toArray(new String[0]));
    }

    private static GatewayStream post(EppFixture epp, String... headers) {
        return epp.post(Dialect.ISTIO, "/v1/chat/completions", chatBody("m", false, 10), 1000, null, headers);
    }

    /** The request's pick, or fails when the EPP answered with an error. */
    private static String pick(GatewayStream s) throws InterruptedException {
        ProcessingResponse r = s.next();
        assertFalse(r.hasImmediateResponse(), () -> "want a pick, got " + r.getImmediateResponse());
        return setHeader(r.getRequestHeaders().getResponse().getHeaderMutation(), "x-gateway-destination-endpoint");
    }

    private static FlowController flow(EppFixture epp) {
        return epp.server.extProcService().director().flowController();
    }

    private static void assertDrained(EppFixture epp) throws InterruptedException {
        Await.until("no request queued", () -> flow(epp).queuedRequests() == 0 && flow(epp).queuedBytes() == 0);
        Await.until("no request in flight", () -> epp.server.endpointStore().snapshot().stream()
                .allMatch(e -> e.inFlightRequests() == 0));
        Await.until("every stream closed", () -> epp.server.openStreams() == 0);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void aRequestWaitsWhileThePoolIsSaturatedAndIsPickedWhenRoomFrees(Transport transport) throws Exception {
        try (EppFixture epp = start(transport, "defaultRequestTTL: 30s", "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            assertEquals("10.0.0.1:8000", pick(first));
            GatewayStream second = post(epp);
            assertNull(second.poll(QUEUED), "the second request waits: the pool takes one at a time");
            assertEquals(1, flow(epp).queuedRequests());
            assertTrue(epp.metricsText().contains("inference_extension_flow_control_queue_size{fairness_id="
                    + "\"default-flow\",inference_pool=\"\",model_name=\"m\",priority=\"0\",target_model_name=\"m\"} 1"));

            first.cancel(); // the first request ends: its slot frees, the waiting one goes
            assertEquals("10.0.0.1:8000", pick(second));
            second.cancel();
            assertDrained(epp);
            assertTrue(epp.metricsText().contains("inference_extension_flow_control_request_queue_duration_seconds_count"
                    + "{fairness_id=\"default-flow\",inference_pool=\"\",model_name=\"m\",outcome=\"Dispatched\","
                    + "priority=\"0\",target_model_name=\"m\"} 2"));
        }
    }

    @Test
    void higherPriorityLeavesFirstWhateverItsArrival() throws Exception {
        try (EppFixture epp = start(Transport.IN_PROCESS, "defaultRequestTTL: 30s", "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            GatewayStream batch = post(epp, "x-gateway-inference-objective", "batch");
            GatewayStream standard = post(epp);
            GatewayStream critical = post(epp, "x-gateway-inference-objective", "critical");
            Await.until("three queued", () -> flow(epp).queuedRequests() == 3);

            first.cancel();
            pick(critical);
            assertNull(standard.poll(QUEUED), "one at a time: standard waits for critical to end");
            critical.cancel();
            pick(standard);
            assertNull(batch.poll(QUEUED));
            standard.cancel();
            pick(batch);
            batch.cancel();
            assertDrained(epp);
        }
    }

    @Test
    void equalTenantsOfOneBandTakeTurnsUnderRoundRobin() throws Exception {
        try (EppFixture epp = start(Transport.IN_PROCESS, """
                defaultRequestTTL: 30s
                defaultPriorityBand: {fairnessPolicyRef: round-robin-fairness-policy}
                """, "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            List<GatewayStream> heavy = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                heavy.add(post(epp, "x-gateway-inference-fairness-id", "heavy"));
                Await.until("queued in order", () -> flow(epp).queuedRequests() == heavy.size());
            }
            GatewayStream light = post(epp, "x-gateway-inference-fairness-id", "light");
            Await.until("four queued", () -> flow(epp).queuedRequests() == 4);

            first.cancel();
            pick(heavy.get(0));
            heavy.get(0).cancel();
            pick(light); // its turn comes before heavy's second request, though that arrived earlier
            light.cancel();
            pick(heavy.get(1));
            heavy.get(1).cancel();
            pick(heavy.get(2));
            heavy.get(2).cancel();
            assertDrained(epp);
        }
    }

    @Test
    void aRequestWaitingLongerThanItsTtlIsAnswered503() throws Exception {
        try (EppFixture epp = start(Transport.IN_PROCESS, "defaultRequestTTL: 200ms", "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            GatewayStream second = post(epp);
            ProcessingResponse r = second.next();
            assertEquals(503, r.getImmediateResponse().getStatus().getCodeValue());
            assertEquals("inference error: ServiceUnavailable - request timed out in queue: request evicted from "
                    + "queue: request TTL expired", r.getImmediateResponse().getBody().toStringUtf8());
            first.cancel();
            assertDrained(epp);
        }
    }

    @Test
    void aFullQueueRejects429AtOnce() throws Exception {
        try (EppFixture epp = start(Transport.IN_PROCESS, "maxRequests: 1", "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            GatewayStream second = post(epp);
            assertNull(second.poll(QUEUED));
            GatewayStream third = post(epp);
            ProcessingResponse r = third.next();
            assertEquals(429, r.getImmediateResponse().getStatus().getCodeValue());
            assertEquals("inference error: ResourceExhausted - request rejected pre-queue: queue at capacity",
                    r.getImmediateResponse().getBody().toStringUtf8());
            first.cancel();
            pick(second);
            second.cancel();
            assertDrained(epp);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void aGatewayCancelWhileQueuedFreesTheQueueAtOnce(Transport transport) throws Exception {
        try (EppFixture epp = start(transport, "maxRequests: 1", "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            GatewayStream second = post(epp);
            Await.until("queued", () -> flow(epp).queuedRequests() == 1);
            second.cancel();
            Await.until("left the queue while the pool is still saturated", () -> flow(epp).queuedRequests() == 0);
            GatewayStream third = post(epp); // the freed capacity takes the next one
            assertNull(third.poll(QUEUED));
            first.cancel();
            pick(third);
            third.cancel();
            assertDrained(epp);
            assertTrue(epp.metricsText().contains("outcome=\"EvictedContextCancelled\""));
        }
    }

    @Test
    void withNoEndpointsRequestsWaitForTheFirstPod(@TempDir Path dir) throws Exception {
        Path endpoints = Files.writeString(dir.resolve("endpoints"), "# scaled to zero\n");
        try (EppFixture epp = start(Transport.IN_PROCESS, "defaultRequestTTL: 30s", "--endpoints-file=" + endpoints)) {
            GatewayStream s = post(epp);
            assertNull(s.poll(QUEUED), "scale from zero: the request waits instead of failing");
            Files.writeString(endpoints, "10.0.0.9:8000\n");
            assertEquals("10.0.0.9:8000", pick(s));
            s.cancel();
            assertDrained(epp);
        }
    }

    @Test
    void tenThousandRequestsWithRandomCancelsWhileQueuedLeaveNothingBehind() throws Exception {
        try (EppFixture epp = start(Transport.IN_PROCESS, "defaultRequestTTL: 60s",
                "--endpoints=10.0.0.1:8000,10.0.0.2:8000")) {
            Random random = new Random(7);
            List<GatewayStream> open = new ArrayList<>();
            int answered = 0;
            for (int i = 0; i < 10_000; i++) {
                open.add(post(epp, "x-gateway-inference-fairness-id", "t" + random.nextInt(50),
                        "x-gateway-inference-objective", random.nextBoolean() ? "critical" : "batch"));
                if (open.size() >= 20 || i == 9_999) {
                    // a burst: some are picked (two slots), the rest wait; cancel at random, picked or queued
                    for (GatewayStream s : open) {
                        if (random.nextInt(3) == 0) {
                            s.cancel();
                        }
                    }
                    for (GatewayStream s : open) {
                        if (s.status() == null) {
                            ProcessingResponse r = s.poll(Duration.ZERO);
                            if (r != null) {
                                answered++;
                            }
                            s.cancel();
                        }
                    }
                    open.clear();
                }
            }
            assertTrue(answered > 0);
            assertDrained(epp);
            assertEquals(0, flow(epp).queuedRequests());
        }
    }

    @Test
    void aConfigReloadWhileRequestsWaitKeepsOrAnswersEveryOne(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, config("defaultRequestTTL: 30s"));
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--config-file=" + file,
                "--endpoints=10.0.0.1:8000")) {
            GatewayStream first = post(epp);
            pick(first);
            List<GatewayStream> waiting = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                waiting.add(post(epp));
            }
            Await.until("three queued", () -> flow(epp).queuedRequests() == 3);

            // new limits: the waiting requests keep their places under them
            Files.writeString(file, config("defaultRequestTTL: 30s\nmaxRequests: 10"));
            Await.until("reloaded", () -> flow(epp).config().maxRequests() == 10);
            assertEquals(3, flow(epp).queuedRequests());
            for (GatewayStream s : waiting) {
                assertNull(s.poll(Duration.ZERO));
            }

            // the gate switched off: they go on to scheduling at once
            Files.writeString(file, config("defaultRequestTTL: 30s").replace("featureGates: [\"flowControl\"]\n", ""));
            for (GatewayStream s : waiting) {
                assertEquals("10.0.0.1:8000", pick(s));
                s.cancel();
            }
            first.cancel();
            assertDrained(epp);
        }
    }
}
