package io.epp4j.epp.k8s;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API server (fabric8's mock) restarts while a gateway sends requests through a whole EPP watching its
 * InferencePool: every request is routed throughout, to the pods known before the outage; once the API server is
 * back the pool watch recovers by itself, and pods added or deleted afterwards are routed to, or no longer.
 */
class ApiServerRestartUnderTrafficTest {

    private record Pick(long atNanos, String destination, String failure) {
    }

    @Test
    void requestsAreRoutedThroughAnApiServerRestartAndPoolChangesAfterItArrive() throws Exception {
        MockApiServer api = new MockApiServer();
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
        api.createPod(api.pod("vllm-b", APP, true));
        AtomicReference<KubernetesPoolSource> source = new AtomicReference<>();
        EppServer.Components components = EppServer.Components.defaults().withoutModelServerMetrics()
                .endpointSource(ctx -> {
                    KubernetesPoolSource s = KubernetesPoolSource.start(api.newClient(),
                            PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1)
                                    .withWatchCheckInterval(Duration.ofMillis(20)),
                            ctx.endpointStore(), ctx.registry(), ctx.clock(), new Random(1));
                    source.set(s);
                    return s;
                });
        List<Pick> picks = new CopyOnWriteArrayList<>();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread gateway = null;
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, components, "--pool-name=pool",
                "--pool-namespace=" + NS)) {
            await("synced and watching", () -> epp.server.endpointStore().synced()
                    && epp.server.endpointStore().size() == 2 && source.get().watching()
                    && source.get().monitor().lastSeenWatching("pods"));
            gateway = new Thread(() -> {
                while (running.get()) {
                    picks.add(route(epp));
                }
            }, "gateway");
            gateway.start();
            String a = api.ipOf("vllm-a") + ":8000";
            String b = api.ipOf("vllm-b") + ":8000";

            api.stop();
            await("the watch loss is noticed", () -> !source.get().watching());
            int atOutage = picks.size();
            await("requests routed during the outage", () -> picks.size() > atOutage + 50);
            api.startAgain();
            await("the pool watch recovers", Duration.ofSeconds(30), () -> source.get().watching());

            api.deletePod("vllm-a");
            api.createPod(api.pod("vllm-c", APP, true));
            String c = api.ipOf("vllm-c") + ":8000";
            await("the pool follows after the restart", () -> epp.server.endpointStore().size() == 2
                    && epp.server.endpointStore().get("vllm-c-rank-0") != null
                    && epp.server.endpointStore().get("vllm-a-rank-0") == null);
            long changed = System.nanoTime();
            await("the new pod is routed to", () -> picks.stream().anyMatch(p -> c.equals(p.destination())));
            running.set(false);
            gateway.join();

            List<String> failures = new ArrayList<>();
            for (Pick p : picks) {
                if (p.failure() != null) {
                    failures.add(p.failure());
                } else if (p.atNanos() > changed) {
                    assertTrue(Set.of(b, c).contains(p.destination()), "after the change: " + p);
                } else {
                    assertTrue(Set.of(a, b, c).contains(p.destination()), p.toString());
                }
            }
            assertEquals(List.of(), failures, "every request was routed");
            await("nothing in flight", () -> epp.server.openStreams() == 0 && epp.server.endpointStore()
                    .snapshot().stream().allMatch(e -> e.inFlightRequests() == 0));
        } finally {
            running.set(false);
            if (gateway != null) {
                gateway.join();
            }
            api.close();
        }
    }

    /** One request's decision, as a gateway asks for it; the stream is then closed as after a response. */
    private static Pick route(EppFixture epp) {
        long at = System.nanoTime();
        GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", Messages.chatBody("m", false, 10), 1000,
                null);
        try {
            ProcessingResponse headers = s.next();
            if (headers.hasImmediateResponse()) {
                return new Pick(at, null, headers.getImmediateResponse().getBody().toStringUtf8());
            }
            String destination = Dialect.ISTIO.destination(headers);
            s.nextUntilBodyEnd(true);
            s.halfClose();
            s.awaitClose();
            return new Pick(at, destination, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Pick(at, null, e.toString());
        } catch (RuntimeException e) {
            s.cancel();
            return new Pick(at, null, e.toString());
        }
    }
}
