package io.epp4j.e2e;

import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.sim.Faults;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.e2e.FaultStack.Answer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static io.epp4j.e2e.FaultStack.await;
import static io.epp4j.e2e.FaultStack.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pods and files failing under a running stack (gateway simulator → EPP → simulated pods): whatever a pod or an
 * operator does, the EPP keeps answering, only the requests on the failing pod fail, and every in-flight slot the
 * EPP took is given back (its {@code /debug/endpoints} and running-request gauge return to zero).
 */
class FaultsE2ETest {

    private static final Duration SETTLE = Duration.ofSeconds(20);

    private final List<AutoCloseable> open = new ArrayList<>();
    private final ExecutorService clients = Executors.newCachedThreadPool();
    private List<SimServer> pods;
    private EppServer epp;
    private GatewaySim gateway;

    /** Three pods, an EPP reading {@code endpointsFile} (or listing the pods) and {@code config}, a gateway. */
    private void start(Path dir, double timeScale, String... eppFlags) throws Exception {
        pods = FaultStack.pods(3, timeScale);
        pods.forEach(open::add);
        Path endpoints = dir.resolve("endpoints.txt");
        Files.writeString(endpoints, String.join("\n", FaultStack.addresses(pods)) + "\n");
        List<String> args = new ArrayList<>(List.of("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                "--secure-serving=false", "--grace-period=1s", "--refresh-metrics-interval=50ms",
                "--endpoints-file=" + endpoints));
        args.addAll(List.of(eppFlags));
        epp = EppServer.start(EppOptions.parse(args.toArray(String[]::new)));
        open.add(epp);
        gateway = FaultStack.gateway(FaultStack.addresses(pods), epp.grpcPort()).upstreamTimeout(Duration.ofSeconds(1));
        open.add(gateway);
    }

    @AfterEach
    void stop() throws Exception {
        clients.shutdownNow();
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private List<Answer> concurrently(int requests, boolean stream, int maxTokens) {
        List<CompletableFuture<Answer>> futures = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            futures.add(CompletableFuture.supplyAsync(() -> chat(gateway, stream, maxTokens), clients));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }

    private void awaitNothingHeld() throws InterruptedException {
        await("the EPP holds no in-flight slot", SETTLE, () -> FaultStack.heldByEpp(epp.metricsPort()) == 0);
    }

    private static Map<Integer, Long> byStatus(List<Answer> answers) {
        return answers.stream().collect(Collectors.groupingBy(Answer::status, Collectors.counting()));
    }

    @Test
    void hangingPodIsCutByTheGatewayTimeoutAndItsSlotsAreReleased(@TempDir Path dir) throws Exception {
        start(dir, 20);
        pods.get(0).setFaults(Faults.parse("hang"));
        List<Answer> answers = concurrently(24, false, 8);
        for (Answer a : answers) {
            if (a.status() != 200) {
                assertEquals(504, a.status(), "only the hung pod's requests fail, by the gateway's timeout: " + a);
            }
        }
        assertTrue(answers.stream().anyMatch(a -> a.status() == 200), "the other pods serve: " + byStatus(answers));
        assertTrue(answers.stream().anyMatch(a -> a.status() == 504), "some went to the hung pod: " + byStatus(answers));
        awaitNothingHeld();
        pods.get(0).setFaults(Faults.NONE);
        assertTrue(concurrently(6, false, 4).stream().allMatch(Answer::complete), "service is whole again");
        awaitNothingHeld();
    }

    @Test
    void podAnswering500PassesTheErrorThroughAndReleasesTheSlot(@TempDir Path dir) throws Exception {
        start(dir, 20);
        pods.get(1).setFaults(Faults.parse("errors=1"));
        List<Answer> answers = concurrently(24, true, 8);
        assertTrue(answers.stream().anyMatch(a -> a.pod().equals("pod-1")), "some went to the failing pod");
        for (Answer a : answers) {
            if (a.pod().equals("pod-1")) {
                assertEquals(500, a.status(), a.toString());
                assertTrue(a.body().contains("injected server error"), "the pod's own error reaches the client");
            } else {
                assertTrue(a.complete(), a.toString());
            }
        }
        awaitNothingHeld();
    }

    @Test
    void podServingGarbageMetricsGoesStaleWhileRequestsStillSucceed(@TempDir Path dir) throws Exception {
        start(dir, 20, "--metrics-staleness-threshold=300ms");
        pods.get(2).setFaults(Faults.parse("garbage-metrics"));
        await("the garbage pod's metrics go stale", SETTLE, () -> fresh(pods.get(2).hostPort()) == Boolean.FALSE);
        assertTrue(FaultStack.counter(epp.metricsPort(), "epp4j_model_server_scrape_errors_total") > 0,
                "failed scrapes are counted");
        List<Answer> answers = concurrently(24, false, 4);
        assertTrue(answers.stream().allMatch(Answer::complete), "every request is served: " + byStatus(answers));
        pods.get(2).setFaults(Faults.NONE);
        await("fresh again once the pod serves Prometheus text", SETTLE,
                () -> fresh(pods.get(2).hostPort()) == Boolean.TRUE);
        awaitNothingHeld();
    }

    @Test
    void podVanishingMidStreamFailsOnlyItsOwnStreams(@TempDir Path dir) throws Exception {
        start(dir, 1);
        List<CompletableFuture<Answer>> streams = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            streams.add(CompletableFuture.supplyAsync(() -> chat(gateway, true, 400), clients));
        }
        await("streams running on pod-0", SETTLE, () -> pods.get(0).snapshot().running() > 0);
        // the pod goes away: its model server is killed, then the pool drops it (as a deleted pod leaves it)
        pods.get(0).close();
        Files.writeString(dir.resolve("endpoints.txt"), pods.get(1).hostPort() + "\n" + pods.get(2).hostPort() + "\n");
        List<Answer> answers = streams.stream().map(CompletableFuture::join).toList();
        for (Answer a : answers) {
            if (!a.complete()) {
                assertFalse(a.pod().equals("pod-1") || a.pod().equals("pod-2"),
                        "only pod-0's streams are cut: " + a);
            }
        }
        assertTrue(answers.stream().anyMatch(a -> !a.complete()), "pod-0's streams were cut");
        await("the pool lost pod-0", SETTLE, () -> epp.endpointStore().size() == 2);
        assertTrue(concurrently(12, true, 8).stream().allMatch(Answer::complete), "the rest of the pool serves");
        awaitNothingHeld();
    }

    @Test
    void flappingPodLeavesAndRejoinsThePoolWithoutAFailedRequest(@TempDir Path dir) throws Exception {
        start(dir, 20);
        Path endpoints = dir.resolve("endpoints.txt");
        String all = Files.readString(endpoints);
        String stable = pods.get(1).hostPort() + "\n" + pods.get(2).hostPort() + "\n";
        AtomicBoolean running = new AtomicBoolean(true);
        List<CompletableFuture<List<Answer>>> traffic = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            traffic.add(CompletableFuture.supplyAsync(() -> {
                List<Answer> seen = new ArrayList<>();
                while (running.get()) {
                    seen.add(chat(gateway, seen.size() % 2 == 0, 6));
                }
                return seen;
            }, clients));
        }
        String flapping = pods.get(0).hostPort();
        for (int flap = 0; flap < 3; flap++) {
            // not ready: the pool drops the pod, then it restarts (its streams were drained by then)
            Files.writeString(endpoints, stable);
            await("pod-0 left the pool", SETTLE, () -> epp.endpointStore().size() == 2);
            await("pod-0 drained", SETTLE, () -> pods.get(0).snapshot().running() == 0
                    && pods.get(0).snapshot().waiting() == 0);
            pods.get(0).restart();
            // ready again
            Files.writeString(endpoints, all);
            await("pod-0 is back in the pool", SETTLE, () -> epp.endpointStore().size() == 3);
        }
        long before = pods.get(0).served();
        await("pod-0 serves again", SETTLE, () -> pods.get(0).served() > before);
        running.set(false);
        List<Answer> answers = traffic.stream().flatMap(f -> f.join().stream()).toList();
        assertTrue(answers.size() > 10, "traffic flowed: " + answers.size());
        assertTrue(answers.stream().allMatch(Answer::complete), "no request failed: " + byStatus(answers));
        assertTrue(answers.stream().anyMatch(a -> a.pod().equals("pod-0")), flapping + " served between flaps");
        awaitNothingHeld();
    }

    @Test
    void invalidConfigReplacementIsCountedAndTheOldConfigKeepsServing(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("config.yaml");
        Files.writeString(config, """
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: queue-scorer
                - type: max-score-picker
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: queue-scorer
                  - pluginRef: max-score-picker
                """);
        start(dir, 20, "--config-file=" + config);
        assertTrue(concurrently(6, false, 4).stream().allMatch(Answer::complete));
        Files.writeString(config, "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n"
                + "plugins:\n- type: no-such-scorer\n");
        await("the rejected reload is counted", SETTLE, () -> FaultStack.counter(epp.metricsPort(),
                "epp4j_config_reload_total") >= 1);
        assertTrue(FaultStack.get(epp.metricsPort(), "/metrics")
                .contains("epp4j_config_reload_total{result=\"failure\"} 1"), "counted as a failure");
        List<Answer> answers = concurrently(12, true, 4);
        assertTrue(answers.stream().allMatch(Answer::complete), "the old config still serves: " + byStatus(answers));
        awaitNothingHeld();
    }

    /** Whether the EPP counts the endpoint's metrics as fresh ({@code /debug/endpoints}), or null if unknown. */
    private Boolean fresh(String address) {
        Map<String, Object> page = io.epp4j.bench.cli.Json.parseObject(FaultStack.get(epp.metricsPort(),
                "/debug/endpoints"));
        for (Object o : (List<?>) page.get("endpoints")) {
            Map<?, ?> e = (Map<?, ?>) o;
            if (address.equals(e.get("address"))) {
                return (Boolean) ((Map<?, ?>) e.get("metrics")).get("fresh");
            }
        }
        return null;
    }
}
