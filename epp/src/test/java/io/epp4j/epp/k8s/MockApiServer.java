package io.epp4j.epp.k8s;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * fabric8's CRUD mock API server over plain HTTP on loopback, with what the fault tests need: a restart on the
 * same port that keeps the stored objects (an API server restart with etcd intact), a "410 Gone" for the next
 * watches, and a record of request paths. Resource helpers build the objects the EPP reads.
 */
final class MockApiServer implements AutoCloseable {

    static final String NS = "llm";
    /** The label of the model-server pods (and the pool's selector) in these tests. */
    static final Map<String, String> APP = Map.of("app", "vllm");

    static final ResourceDefinitionContext POOL_V1 = KubernetesPoolSource.namespaced(PoolOptions.GROUP_V1, "v1",
            "InferencePool", "inferencepools");
    static final ResourceDefinitionContext POOL_V1ALPHA2 = KubernetesPoolSource.namespaced(PoolOptions.GROUP_X,
            "v1alpha2", "InferencePool", "inferencepools");
    static final ResourceDefinitionContext OBJECTIVE = KubernetesPoolSource.namespaced(PoolOptions.GROUP_X,
            "v1alpha2", "InferenceObjective", KubernetesPoolSource.OBJECTIVES);
    static final ResourceDefinitionContext REWRITE = KubernetesPoolSource.namespaced(PoolOptions.GROUP_X,
            "v1alpha2", "InferenceModelRewrite", KubernetesPoolSource.REWRITES);
    /** The same kinds under llm-d-router's own API group. */
    static final ResourceDefinitionContext OBJECTIVE_LLMD = KubernetesPoolSource.namespaced(PoolOptions.GROUP_LLMD,
            "v1alpha2", "InferenceObjective", KubernetesPoolSource.OBJECTIVES);
    static final ResourceDefinitionContext REWRITE_LLMD = KubernetesPoolSource.namespaced(PoolOptions.GROUP_LLMD,
            "v1alpha2", "InferenceModelRewrite", KubernetesPoolSource.REWRITES);

    /** Forwards to the CRUD dispatcher; can answer watches with 410 Gone and records every path. */
    static final class FaultDispatcher extends Dispatcher {
        final KubernetesMixedDispatcher crud;
        final AtomicInteger goneWatches = new AtomicInteger();
        final AtomicInteger failingDiscoveries = new AtomicInteger();
        final List<String> paths = new CopyOnWriteArrayList<>();

        FaultDispatcher(KubernetesMixedDispatcher crud) {
            this.crud = crud;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            paths.add(request.getMethod() + " " + path);
            if (path.contains("watch=true") && goneWatches.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                // As a real API server does: the watch opens, then an ERROR event carries the 410 Status.
                return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
                    @Override
                    public void onOpen(WebSocket webSocket, Response response) {
                        webSocket.send("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                                + "\"status\":\"Failure\",\"message\":\"too old resource version\","
                                + "\"reason\":\"Expired\",\"code\":410}}");
                        webSocket.close(1000, "expired");
                    }
                });
            }
            if (path.equals("/apis/" + PoolOptions.GROUP_X + "/v1alpha2")
                    && failingDiscoveries.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                return new MockResponse().setResponseCode(503).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                        + "\"status\":\"Failure\",\"message\":\"etcd unavailable\",\"code\":503}");
            }
            MockResponse response = crud.dispatch(request);
            WebSocketListener watch = response.getWebSocketListener();
            if (watch != null) {
                response.withWebSocketUpgrade(new OffLoopClose(watch));
            }
            return response;
        }

        // The stored objects must outlive a server restart, so the CRUD dispatcher is never shut down here.
        @Override
        public void shutdown() {
        }

        @Override
        public void releaseResources() {
        }
    }

    /**
     * The mock's watch listener waits, on the server's event loop, for its sender thread to finish when a client
     * closes a watch, while that thread may need the event loop to send the close: the server then stalls for up
     * to a minute. Running the close callbacks on another thread avoids that stall (a test-harness fix only).
     */
    private static final class OffLoopClose extends WebSocketListener {
        private static final java.util.concurrent.ExecutorService CLOSERS =
                java.util.concurrent.Executors.newCachedThreadPool(r -> {
                    Thread t = new Thread(r, "mock-watch-close");
                    t.setDaemon(true);
                    return t;
                });
        private final WebSocketListener delegate;

        OffLoopClose(WebSocketListener delegate) {
            this.delegate = delegate;
        }

        @Override
        public void onBeforeAccept(WebSocket webSocket, Response response) {
            delegate.onBeforeAccept(webSocket, response);
        }

        @Override
        public void onOpen(WebSocket webSocket, Response response) {
            delegate.onOpen(webSocket, response);
        }

        @Override
        public void onMessage(WebSocket webSocket, String text) {
            delegate.onMessage(webSocket, text);
        }

        @Override
        public void onMessage(WebSocket webSocket, io.fabric8.mockwebserver.http.ByteString bytes) {
            delegate.onMessage(webSocket, bytes);
        }

        @Override
        public void onMessage(WebSocket webSocket, byte[] bytes) {
            delegate.onMessage(webSocket, bytes);
        }

        @Override
        public void onPing(WebSocket webSocket, byte[] bytes) {
            delegate.onPing(webSocket, bytes);
        }

        @Override
        public void onClosing(WebSocket webSocket, int code, String reason) {
            delegate.onClosing(webSocket, code, reason);
        }

        @Override
        public void onClosed(WebSocket webSocket, int code, String reason) {
            CLOSERS.execute(() -> delegate.onClosed(webSocket, code, reason));
        }

        @Override
        public void onFailure(WebSocket webSocket, Throwable t, Response response) {
            CLOSERS.execute(() -> delegate.onFailure(webSocket, t, response));
        }
    }

    private final Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    final FaultDispatcher dispatcher = new FaultDispatcher(new KubernetesMixedDispatcher(responses));
    private final List<KubernetesClient> clients = new ArrayList<>();
    private final Map<String, Integer> ips = new ConcurrentHashMap<>();
    private KubernetesMockServer server;
    private int port;
    private KubernetesClient admin;

    MockApiServer() {
        startOn(0);
    }

    private void startOn(int wanted) {
        server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), responses,
                dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), wanted);
        port = server.getPort();
    }

    /** Installs the InferenceObjective and InferenceModelRewrite CRDs (visible through discovery). */
    void installOptionalCrds() {
        installCrds(OBJECTIVE, REWRITE);
    }

    /** Serves InferenceObjective and InferenceModelRewrite under llm-d-router's group. */
    void installLlmdCrds() {
        installCrds(OBJECTIVE_LLMD, REWRITE_LLMD);
    }

    private void installCrds(ResourceDefinitionContext... contexts) {
        for (ResourceDefinitionContext ctx : contexts) {
            dispatcher.crud.expectCustomResource(new CustomResourceDefinitionContext.Builder()
                    .withGroup(ctx.getGroup()).withVersion(ctx.getVersion()).withKind(ctx.getKind())
                    .withPlural(ctx.getPlural()).withScope("Namespaced").build());
        }
    }

    void stop() {
        server.destroy();
    }

    /** Starts again on the same port with the same stored objects. */
    void startAgain() {
        startOn(port);
    }

    String url() {
        return "http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + port;
    }

    Config config() {
        return new ConfigBuilder(Config.empty()).withMasterUrl(url()).withNamespace(NS)
                .withWatchReconnectInterval(100).withWatchReconnectLimit(-1).withRequestTimeout(5_000)
                .withConnectionTimeout(2_000).withRequestRetryBackoffInterval(50).withRequestRetryBackoffLimit(2)
                .withTrustCerts(true).build();
    }

    /** A new client (closed with the server) with short reconnect intervals, as the EPP would use. */
    KubernetesClient newClient() {
        KubernetesClient c = new KubernetesClientBuilder().withConfig(config()).build();
        clients.add(c);
        return c;
    }

    /** The client tests use to play the cluster's other actors. */
    KubernetesClient admin() {
        if (admin == null) {
            admin = newClient();
        }
        return admin;
    }

    /** A kubeconfig file pointing at this server over plain HTTP, for a process started with KUBECONFIG. */
    Path writeKubeconfig(Path dir) throws IOException {
        String yaml = """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: %s
                    insecure-skip-tls-verify: true
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: mock
                    namespace: %s
                current-context: mock
                users:
                - name: mock
                  user:
                    token: test-token
                """.formatted(url(), NS);
        Path file = dir.resolve("kubeconfig");
        Files.writeString(file, yaml);
        return file;
    }

    // ---- objects ---------------------------------------------------------------------------------------------

    static GenericKubernetesResource poolV1(String name, Map<String, String> matchLabels, Integer... ports) {
        List<Map<String, Object>> targetPorts = new ArrayList<>();
        for (Integer p : ports) {
            targetPorts.add(Map.of("number", p));
        }
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("selector", Map.of("matchLabels", matchLabels));
        spec.put("targetPorts", targetPorts);
        spec.put("endpointPickerRef", Map.of("name", name + "-epp", "port", Map.of("number", 9002)));
        return new GenericKubernetesResourceBuilder().withApiVersion(PoolOptions.GROUP_V1 + "/v1")
                .withKind("InferencePool").withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .addToAdditionalProperties("spec", spec).build();
    }

    static GenericKubernetesResource poolV1alpha2(String name, Map<String, String> selector, int port) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("selector", selector);
        spec.put("targetPortNumber", port);
        spec.put("extensionRef", Map.of("name", name + "-epp"));
        return new GenericKubernetesResourceBuilder().withApiVersion(PoolOptions.GROUP_X + "/v1alpha2")
                .withKind("InferencePool").withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .addToAdditionalProperties("spec", spec).build();
    }

    static GenericKubernetesResource objective(String name, String poolName, String poolGroup, Integer priority) {
        Map<String, Object> spec = new LinkedHashMap<>();
        if (priority != null) {
            spec.put("priority", priority);
        }
        Map<String, Object> poolRef = new LinkedHashMap<>();
        poolRef.put("name", poolName);
        if (poolGroup != null) {
            poolRef.put("group", poolGroup);
        }
        spec.put("poolRef", poolRef);
        return new GenericKubernetesResourceBuilder().withApiVersion(PoolOptions.GROUP_X + "/v1alpha2")
                .withKind("InferenceObjective").withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .addToAdditionalProperties("spec", spec).build();
    }

    /** A rewrite with rules given as (exact model or null for catch-all) → targets "model:weight,…". */
    static GenericKubernetesResource rewrite(String name, String poolName, String createdAt, String... rules) {
        List<Map<String, Object>> ruleList = new ArrayList<>();
        for (String rule : rules) {
            String[] parts = rule.split("->");
            Map<String, Object> r = new LinkedHashMap<>();
            String match = parts[0].trim();
            if (!match.equals("*")) {
                r.put("matches", List.of(Map.of("model", Map.of("type", "Exact", "value", match))));
            }
            List<Map<String, Object>> targets = new ArrayList<>();
            for (String t : parts[1].split(",")) {
                String[] mw = t.trim().split(":");
                Map<String, Object> target = new LinkedHashMap<>();
                target.put("modelRewrite", mw[0]);
                if (mw.length > 1) {
                    target.put("weight", Integer.parseInt(mw[1]));
                }
                targets.add(target);
            }
            r.put("targets", targets);
            ruleList.add(r);
        }
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("poolRef", Map.of("group", PoolOptions.GROUP_V1, "kind", "InferencePool", "name", poolName));
        spec.put("rules", ruleList);
        return new GenericKubernetesResourceBuilder().withApiVersion(PoolOptions.GROUP_X + "/v1alpha2")
                .withKind("InferenceModelRewrite").withNewMetadata().withName(name).withNamespace(NS)
                .withCreationTimestamp(createdAt).endMetadata()
                .addToAdditionalProperties("spec", spec).build();
    }

    /** A Running pod with a stable IP per name, Ready as given. */
    Pod pod(String name, Map<String, String> labels, boolean ready) {
        int n = ips.computeIfAbsent(name, k -> ips.size() + 10);
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(NS).withLabels(labels).endMetadata()
                .withNewSpec().addNewContainer().withName("vllm").withImage("vllm").endContainer().endSpec()
                .withNewStatus().withPhase("Running").withPodIP("10.0.0." + n)
                .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
                .endStatus().build();
    }

    String ipOf(String podName) {
        return "10.0.0." + ips.get(podName);
    }

    void createPod(Pod pod) {
        admin().pods().inNamespace(NS).resource(pod).create();
    }

    void replacePod(Pod pod) {
        admin().pods().inNamespace(NS).resource(pod).update();
    }

    void deletePod(String name) {
        admin().pods().inNamespace(NS).withName(name).delete();
    }

    void create(ResourceDefinitionContext ctx, GenericKubernetesResource resource) {
        resource.setApiVersion(ctx.getGroup() + "/" + ctx.getVersion());
        admin().genericKubernetesResources(ctx).inNamespace(NS).resource(resource).create();
    }

    void update(ResourceDefinitionContext ctx, GenericKubernetesResource resource) {
        resource.setApiVersion(ctx.getGroup() + "/" + ctx.getVersion());
        admin().genericKubernetesResources(ctx).inNamespace(NS).resource(resource).update();
    }

    void delete(ResourceDefinitionContext ctx, String name) {
        admin().genericKubernetesResources(ctx).inNamespace(NS).withName(name).delete();
    }

    long requestsEqual(String methodAndPath) {
        return dispatcher.paths.stream().filter(p -> p.equals(methodAndPath)).count();
    }

    long requestsMatching(String fragment) {
        return dispatcher.paths.stream().filter(p -> p.contains(fragment)).count();
    }

    /** Polls until the condition holds; fails with the message after the deadline (no fixed sleeps). */
    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for: " + what);
            }
        }
    }

    static void await(String what, BooleanSupplier condition) {
        await(what, Duration.ofSeconds(15), condition);
    }

    @Override
    public void close() {
        for (KubernetesClient c : clients) {
            c.close();
        }
        server.destroy();
    }
}
