package io.epp4j.epp.k8s;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.epp4j.gatewaykit.ExtProcClient;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.OBJECTIVE;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.REWRITE;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The EPP process ({@code io.epp4j.epp.Main} in its own JVM) as an InferencePool's endpoint picker, finding the
 * CRUD mock API server through KUBECONFIG exactly as it would find a cluster, while a minimal gateway sends
 * ext_proc requests.
 */
class EppProcessKubernetesTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private MockApiServer api;
    private Path kubeconfig;
    private final List<EppProcess> processes = new ArrayList<>();

    @BeforeEach
    void startApi() throws Exception {
        api = new MockApiServer();
        kubeconfig = api.writeKubeconfig(dir);
    }

    @AfterEach
    void stopAll() throws Exception {
        for (EppProcess p : processes) {
            p.stop();
        }
        api.close();
    }

    private EppProcess epp(String name, Map<String, String> env, String... flags) throws Exception {
        Map<String, String> environment = new java.util.HashMap<>(env);
        // fabric8 reads its client settings from the environment too; a short first reconnect keeps the restart
        // test quick (the default is 1 s, doubling).
        environment.put("KUBERNETES_WATCH_RECONNECTINTERVAL", "200");
        EppProcess p = EppProcess.start(kubeconfig, dir, name, environment, flags);
        processes.add(p);
        return p;
    }

    private String at(String pod, int port) {
        return api.ipOf(pod) + ":" + port;
    }

    /** The endpoints picked over {@code n} requests (random picks: 60 requests see every one of a few). */
    private static Set<String> picks(EppProcess epp, int n) throws InterruptedException {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            try {
                ExtProcClient.Answer a = epp.request("llama");
                seen.add(a.picked() ? a.destination() : "status " + a.immediateStatus());
            } catch (AssertionError e) {
                seen.add("failed: " + e.getMessage()); // never equal to an expected set: the caller retries
            }
        }
        return seen;
    }

    /** Waits until the EPP picks exactly these endpoints, then checks nothing else is picked afterwards. */
    private static void awaitPicks(String what, EppProcess epp, Set<String> expected) {
        await(what, WAIT, () -> {
            try {
                return picks(epp, 60).equals(expected);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        try {
            Set<String> after = picks(epp, 60);
            assertTrue(expected.containsAll(after), what + ": once seen, gone endpoints are never picked: " + after);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The mock does not replay events from a resourceVersion: wait until the EPP's watches are open. */
    private void awaitWatchesAfter(long podWatches, long poolWatches) {
        await("EPP watches open", WAIT, () -> api.requestsMatching("/pods?") > 0
                && countWatches("/pods?") > podWatches && countWatches("/inferencepools?") > poolWatches);
    }

    private long countWatches(String resource) {
        return api.dispatcher.paths.stream().filter(p -> p.contains(resource) && p.contains("watch=true")).count();
    }

    @Test
    void servesAsThePoolsEndpointPickerWhilePodsAndPoolChange() throws Exception {
        EppProcess epp = epp("epp", Map.of(), "--pool-name=pool", "--pool-namespace=" + NS);
        awaitWatchesAfter(0, 0);

        // No pool yet: not serving, requests get 503.
        assertEquals(ServingStatus.NOT_SERVING, epp.health("inference-extension"));
        assertEquals(503, epp.request("llama").immediateStatus());

        // The pool is created after the EPP started.
        api.createPod(api.pod("vllm-a", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        await("serving", WAIT, () -> epp.health("inference-extension") == ServingStatus.SERVING);
        awaitPicks("a only", epp, Set.of(at("vllm-a", 8000)));

        // Pods become Ready, unready, are deleted.
        api.createPod(api.pod("vllm-b", APP, false));
        api.replacePod(api.pod("vllm-b", APP, true));
        awaitPicks("b joins", epp, Set.of(at("vllm-a", 8000), at("vllm-b", 8000)));
        api.replacePod(api.pod("vllm-b", APP, false));
        awaitPicks("b unready", epp, Set.of(at("vllm-a", 8000)));
        api.replacePod(api.pod("vllm-b", APP, true));
        api.deletePod("vllm-a");
        awaitPicks("a deleted", epp, Set.of(at("vllm-b", 8000)));

        // Two target ports; b announces only 8001 as active.
        api.replacePod(new PodBuilder(api.pod("vllm-b", APP, true)).editMetadata()
                .addToAnnotations(PodEndpoints.ACTIVE_PORTS_ANNOTATION, "8001").endMetadata().build());
        api.createPod(api.pod("vllm-c", APP, true));
        api.update(POOL_V1, MockApiServer.poolV1("pool", APP, 8000, 8001));
        awaitPicks("ranks", epp, Set.of(at("vllm-b", 8001), at("vllm-c", 8000), at("vllm-c", 8001)));

        // Selector change: a different set of pods.
        api.createPod(api.pod("next-a", Map.of("app", "next"), true));
        api.update(POOL_V1, MockApiServer.poolV1("pool", Map.of("app", "next"), 8000));
        awaitPicks("new selector", epp, Set.of(at("next-a", 8000)));

        // Pool deleted: NOT_SERVING and 503 until it is back.
        api.delete(POOL_V1, "pool");
        await("not serving", WAIT, () -> epp.health("inference-extension") == ServingStatus.NOT_SERVING);
        assertEquals(503, epp.request("llama").immediateStatus());
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        await("serving again", WAIT, () -> epp.health("inference-extension") == ServingStatus.SERVING);
        awaitPicks("pool back", epp, Set.of(at("vllm-c", 8000)));

        // The optional CRDs are missing here: one log line each, no retry loop, no crash.
        assertTrue(epp.alive());
        assertEquals(1, epp.logLinesContaining("InferenceObjective CRD"), epp.log());
        assertEquals(1, epp.logLinesContaining("InferenceModelRewrite CRD"), epp.log());
        assertEquals(0, api.requestsMatching("inferenceobjectives"));
    }

    @Test
    void objectivesAndRewritesApplyToRequestsAndAreReversedInResponses() throws Exception {
        api.installOptionalCrds();
        api.createPod(api.pod("vllm-a", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        EppProcess epp = epp("epp", Map.of("NAMESPACE", NS), "--pool-name=pool");
        await("serving", WAIT, () -> epp.health("") == ServingStatus.SERVING);
        await("objective and rewrite watches open", WAIT,
                () -> countWatches("inferenceobjectives?") > 0 && countWatches("inferencemodelrewrites?") > 0);

        api.create(OBJECTIVE, MockApiServer.objective("premium", "pool", PoolOptions.GROUP_V1, 10));
        api.create(REWRITE, MockApiServer.rewrite("to-v2", "pool", null, "llama -> llama-v2"));

        AtomicReference<ExtProcClient.Answer> last = new AtomicReference<>();
        await("the body's model is rewritten", WAIT, () -> {
            try {
                last.set(epp.request("llama", Map.of("x-gateway-inference-objective", "premium")));
                return last.get().forwardedText().contains("\"llama-v2\"");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        assertEquals(at("vllm-a", 8000), last.get().destination());
        assertFalse(last.get().forwardedText().contains("\"llama\""), last.get().forwardedText());
        await("the objective's priority is applied", WAIT, () -> {
            try {
                epp.request("llama", Map.of("x-gateway-inference-objective", "premium"));
                return epp.metrics().lines().anyMatch(l -> l.startsWith("inference_objective_request_total")
                        && l.contains("priority=\"10\"") && l.contains("target_model_name=\"llama-v2\""));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        // The model server answers as llama-v2; the client sees the model it asked for.
        ExtProcClient.Answer roundTrip = epp.request("llama", Map.of(),
                "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"llama-v2\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
        assertTrue(roundTrip.forwardedText().contains("\"llama-v2\""), roundTrip.forwardedText());
        assertTrue(roundTrip.returnedText().contains("\"model\":\"llama\""), roundTrip.returnedText());
        assertFalse(roundTrip.returnedText().contains("llama-v2"), roundTrip.returnedText());

        // An unknown objective is priority 0; another model is not rewritten.
        ExtProcClient.Answer other = epp.request("mistral", Map.of("x-gateway-inference-objective", "nope"));
        assertTrue(other.forwardedText().contains("\"mistral\""));
        assertTrue(epp.metrics().lines().anyMatch(l -> l.startsWith("inference_objective_request_total")
                && l.contains("priority=\"0\"") && l.contains("model_name=\"mistral\"")));
        assertEquals(0, epp.logLinesContaining("CRD ("), "both CRDs found: " + epp.log());
    }

    @Test
    void twoEppProcessesElectOneLeaderAndTheOtherTakesOver() throws Exception {
        api.createPod(api.pod("vllm-a", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        String[] flags = {"--pool-name=pool", "--pool-namespace=" + NS, "--ha-enable-leader-election",
                "--ha-lease-duration=2s", "--ha-renew-deadline=1500ms", "--ha-retry-period=100ms"};
        EppProcess a = epp("epp-a", Map.of("POD_NAME", "epp-a"), flags);
        EppProcess b = epp("epp-b", Map.of("POD_NAME", "epp-b"), flags);

        await("one leader", WAIT, () -> (a.health("readiness") == ServingStatus.SERVING)
                ^ (b.health("readiness") == ServingStatus.SERVING));
        EppProcess leader = a.health("readiness") == ServingStatus.SERVING ? a : b;
        EppProcess standby = leader == a ? b : a;
        assertEquals(ServingStatus.SERVING, standby.health("liveness"), "a standby is alive");
        assertEquals(ServingStatus.NOT_SERVING, standby.health("readiness"));
        assertEquals(ServingStatus.SERVICE_UNKNOWN, standby.health("something-else"));
        assertEquals(at("vllm-a", 8000), leader.request("llama").destination());
        String holder = api.admin().leases().inNamespace(NS)
                .withName("epp-" + NS + "-pool.gateway-api-inference-extension.sigs.k8s.io").get()
                .getSpec().getHolderIdentity();
        assertTrue(holder.startsWith(leader == a ? "epp-a_" : "epp-b_"), holder);

        leader.stop(); // SIGTERM: graceful stop releases the Lease
        await("the standby takes over", WAIT, () -> standby.health("readiness") == ServingStatus.SERVING);
        assertEquals(at("vllm-a", 8000), standby.request("llama").destination());
    }

    @Test
    void apiServerRestartMidTrafficKeepsServingTheLastEndpoints() throws Exception {
        api.createPod(api.pod("vllm-a", APP, true));
        api.createPod(api.pod("vllm-b", APP, true));
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        EppProcess epp = epp("epp", Map.of(), "--pool-name=pool", "--pool-namespace=" + NS);
        awaitWatchesAfter(0, 0);
        awaitPicks("both", epp, Set.of(at("vllm-a", 8000), at("vllm-b", 8000)));

        // Traffic runs the whole time; every request must be answered with a known endpoint.
        Set<String> known = Set.of(at("vllm-a", 8000), at("vllm-b", 8000));
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong served = new AtomicLong();
        Map<String, Long> failures = new ConcurrentHashMap<>();
        Thread traffic = new Thread(() -> {
            while (running.get()) {
                try {
                    ExtProcClient.Answer answer = epp.request("llama");
                    if (answer.picked() && known.contains(answer.destination())) {
                        served.incrementAndGet();
                    } else {
                        failures.merge(answer.picked() ? answer.destination() : "status " + answer.immediateStatus(),
                                1L, Long::sum);
                    }
                } catch (Throwable t) {
                    failures.merge(t.toString(), 1L, Long::sum);
                }
            }
        }, "gateway");
        traffic.start();
        try {
            long podWatches = countWatches("/pods?");
            long poolWatches = countWatches("/inferencepools?");
            api.stop();
            long before = served.get();
            await("requests served while the API server is down, and the loss noticed", WAIT,
                    () -> served.get() > before + 200 && epp.log().contains("watch on pods lost"));
            assertEquals(ServingStatus.SERVING, epp.health("inference-extension"));
            api.startAgain();
            awaitWatchesAfter(podWatches, poolWatches);
        } finally {
            running.set(false);
            traffic.join();
        }
        assertTrue(failures.isEmpty(), "failed requests: " + failures);

        // Changes after the restart reach the EPP.
        api.deletePod("vllm-a");
        awaitPicks("a gone after restart", epp, Set.of(at("vllm-b", 8000)));
        // The watch monitor checks once a second: recovery is logged and counted shortly after.
        await("recovery logged and counted", WAIT, () -> {
            try {
                return epp.log().contains("watch on pods recovered") && epp.metrics().lines().anyMatch(l ->
                        l.startsWith("epp4j_kubernetes_watch_restarts_total{resource=\"pods\"}")
                                && !l.endsWith(" 0.0"));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }
}
