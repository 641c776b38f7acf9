package io.epp4j.helm;

import com.sun.net.httpserver.HttpServer;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.ExtProcClient;
import io.epp4j.gatewaykit.Messages;
import io.epp4j.proto.vllm.GenerateRequest;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chart's output really runs: the rendered objects go into a (mock) Kubernetes API server, the EPP starts with
 * exactly the arguments the rendered Deployment gives it (only the listening ports made ephemeral and the config
 * path pointed at the rendered ConfigMap's file), and requests played the way agentgateway sends them are routed
 * to ready pods matching the pool's selector, chosen on the metrics the rendered plugin config scrapes.
 */
@EnableKubernetesMockClient(crud = true, kubernetesClientBuilderCustomizer = ChartRunsAgainstMockApiTest.PatientClient.class)
class ChartRunsAgainstMockApiTest {

    /** Generous client timeouts: the build machine may be busy, and a slow answer is not what this test is about. */
    public static final class PatientClient implements java.util.function.Consumer<KubernetesClientBuilder> {
        @Override
        public void accept(KubernetesClientBuilder builder) {
            builder.editOrNewConfig().withConnectionTimeout(PATIENT_MILLIS).withRequestTimeout(PATIENT_MILLIS)
                    .endConfig();
        }
    }

    private static final int PATIENT_MILLIS = 60_000;

    private static final String NAMESPACE = "llm";
    private static final String RELEASE = "vllm-qwen3-06b";
    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final List<String> CLIENT_PROPERTIES = List.of("kubernetes.master", "kubernetes.namespace",
            "kubernetes.auth.tryKubeConfig", "kubernetes.auth.tryServiceAccount", "kubernetes.trust.certificates",
            "kubernetes.disable.autoConfig", Config.KUBERNETES_CONNECTION_TIMEOUT_SYSTEM_PROPERTY,
            Config.KUBERNETES_REQUEST_TIMEOUT_SYSTEM_PROPERTY);

    static final ResourceDefinitionContext INFERENCE_POOL = new ResourceDefinitionContext.Builder()
            .withGroup("inference.networking.k8s.io").withVersion("v1").withKind("InferencePool")
            .withPlural("inferencepools").withNamespaced(true).build();

    KubernetesMockServer server;
    KubernetesClient client;

    @TempDir
    Path tempDir;

    private final List<HttpServer> modelServers = new ArrayList<>();
    private final Map<String, AtomicInteger> scrapes = new ConcurrentHashMap<>();
    private final Map<String, String> savedProperties = new HashMap<>();
    private EppServer epp;

    @BeforeEach
    void pointKubernetesClientsAtTheMock() {
        for (String key : CLIENT_PROPERTIES) {
            savedProperties.put(key, System.getProperty(key));
        }
        // The EPP finds its API server "the standard way"; these system properties are that way's first source.
        System.setProperty("kubernetes.master", client.getConfiguration().getMasterUrl());
        System.setProperty("kubernetes.namespace", NAMESPACE);
        System.setProperty("kubernetes.auth.tryKubeConfig", "false");
        System.setProperty("kubernetes.auth.tryServiceAccount", "false");
        System.setProperty("kubernetes.trust.certificates", "true");
        System.setProperty(Config.KUBERNETES_CONNECTION_TIMEOUT_SYSTEM_PROPERTY, Integer.toString(PATIENT_MILLIS));
        System.setProperty(Config.KUBERNETES_REQUEST_TIMEOUT_SYSTEM_PROPERTY, Integer.toString(PATIENT_MILLIS));
    }

    @AfterEach
    void stopEverything() {
        if (epp != null) {
            epp.close();
        }
        modelServers.forEach(s -> s.stop(0));
        savedProperties.forEach((key, value) -> {
            if (value == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, value);
            }
        });
    }

    @Test
    void renderedEppRoutesRequestsToIdleReadyPodsOfThePool() throws Exception {
        int modelPort = freePort();
        List<String> idlePods = List.of("127.0.0.1", "127.0.0.2");
        String busyPod = "127.0.0.3";
        for (String ip : idlePods) {
            modelServers.add(startModelServer(ip, modelPort, 0, 0.1));
        }
        modelServers.add(startModelServer(busyPod, modelPort, 40, 0.95));
        Chart.Rendered rendered = seedRelease(modelPort).render();
        applyToApiServer(rendered);

        createPod(RELEASE + "-0", RELEASE, idlePods.get(0), true);
        createPod(RELEASE + "-1", RELEASE, idlePods.get(1), true);
        createPod(RELEASE + "-busy", RELEASE, busyPod, true);
        createPod("not-ready", RELEASE, "127.0.0.8", false);
        createPod("other-model", "vllm-tinyllama", "127.0.0.9", true);

        epp = EppServer.start(EppOptions.parse(Map.of("NAMESPACE", NAMESPACE, "POD_NAME", RELEASE + "-epp-0"),
                eppArgs(rendered).toArray(String[]::new)));

        awaitServing(epp.healthPort(), "inference-extension");
        // The rendered metrics-data-source (scheme, path, the pool's target port) reaches every ready pod.
        awaitTrue(() -> scrapes.keySet().containsAll(List.of(idlePods.get(0), idlePods.get(1), busyPod))
                        && scrapes.values().stream().allMatch(count -> count.get() >= 3),
                "every ready pod's /metrics scraped a few times: " + scrapes);
        assertTrue(!scrapes.containsKey("127.0.0.8") && !scrapes.containsKey("127.0.0.9"),
                "pods outside the pool or not ready are not scraped: " + scrapes);

        Set<String> idle = new HashSet<>();
        idlePods.forEach(ip -> idle.add(ip + ":" + modelPort));
        try (ExtProcClient gateway = agentgateway(epp.grpcPort())) {
            for (int i = 0; i < 12; i++) {
                String endpoint = pickEndpoint(gateway, "request " + i);
                assertTrue(idle.contains(endpoint), "picked " + endpoint + ", not one of the idle ready pods "
                        + idle + " (the busy pod has a queue of 40 and 95% KV-cache use)");
            }
        }
    }

    @Test
    void grpcReleaseRoutesVllmGenerateCallsOnTheirPrompt() throws Exception {
        int modelPort = freePort();
        List<String> pods = List.of("127.0.0.1", "127.0.0.2");
        for (String ip : pods) {
            modelServers.add(startModelServer(ip, modelPort, 0, 0.1));
        }
        Chart.Rendered rendered = seedRelease(modelPort).set("inferencePool.modelServerProtocol", "grpc").render();
        assertEquals("kubernetes.io/h2c", ((Map<?, ?>) ((GenericKubernetesResource) rendered.objects.stream()
                .filter(o -> o.getKind().equals("InferencePool")).findFirst().orElseThrow())
                .getAdditionalProperties().get("spec")).get("appProtocol"));
        applyToApiServer(rendered);
        createPod(RELEASE + "-0", RELEASE, pods.get(0), true);
        createPod(RELEASE + "-1", RELEASE, pods.get(1), true);
        epp = EppServer.start(EppOptions.parse(Map.of("NAMESPACE", NAMESPACE, "POD_NAME", RELEASE + "-epp-0"),
                eppArgs(rendered).toArray(String[]::new)));
        awaitServing(epp.healthPort(), "inference-extension");
        awaitTrue(() -> pods.stream().allMatch(ip -> scrapes.getOrDefault(ip, new AtomicInteger()).get() >= 2),
                "both pods scraped: " + scrapes);

        try (ExtProcClient gateway = agentgateway(epp.grpcPort())) {
            // a long shared prefix in the Generate call's text: the prefix scorer keeps it on one pod
            String prefix = "You are a careful assistant. ".repeat(40);
            Set<String> picked = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                byte[] call = Messages.grpcFrame(GenerateRequest.newBuilder().setRequestId("r" + i)
                        .setText(prefix + "Question " + i).setStream(true).build().toByteArray());
                ExtProcClient.Answer answer = gateway.exchange(Dialect.AGENTGATEWAY,
                        Messages.grpcPost("/vllm.grpc.engine.VllmEngine/Generate", call.length), call, null);
                assertTrue(answer.picked(), "the EPP answered itself with status " + answer.immediateStatus());
                assertTrue(java.util.Arrays.equals(call, answer.forwardedBody()), "the call goes on unchanged");
                picked.add(answer.destination());
            }
            assertEquals(1, picked.size(), "calls sharing a long prompt prefix stay on one pod: " + picked);

            // the rendered config's vllmgrpc-parser refuses what vLLM's gRPC server could not read either
            byte[] compressed = Messages.grpcFrame(new byte[] {0x1a, 0x01, 'x'});
            compressed[0] = 1;
            assertEquals(400, gateway.exchange(Dialect.AGENTGATEWAY, Messages.grpcPost(
                    "/vllm.grpc.engine.VllmEngine/Generate", compressed.length), compressed, null).immediateStatus());
        }
    }

    @Test
    void threeReplicaReleaseTakesTheLeaseAndTurnsReady() throws Exception {
        int modelPort = freePort();
        modelServers.add(startModelServer("127.0.0.1", modelPort, 0, 0.1));
        Chart.Rendered rendered = seedRelease(modelPort).set("inferenceExtension.replicas", 3).render();
        applyToApiServer(rendered);
        createPod(RELEASE + "-0", RELEASE, "127.0.0.1", true);

        List<String> args = eppArgs(rendered);
        assertTrue(args.contains("--ha-enable-leader-election"), args::toString);
        epp = EppServer.start(EppOptions.parse(Map.of("NAMESPACE", NAMESPACE, "POD_NAME", RELEASE + "-epp-0"),
                args.toArray(String[]::new)));

        Deployment deployment = rendered.get(Deployment.class, RELEASE + "-epp");
        var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        awaitServing(epp.healthPort(), container.getLivenessProbe().getGrpc().getService());
        awaitServing(epp.healthPort(), container.getReadinessProbe().getGrpc().getService());
        assertEquals(1, client.leases().inNamespace(NAMESPACE).list().getItems().size(),
                "one Lease in the pool namespace, which the chart's leader-election Role covers");

        try (ExtProcClient gateway = agentgateway(epp.grpcPort())) {
            assertEquals("127.0.0.1:" + modelPort, pickEndpoint(gateway, "hello"));
        }
    }

    /** agentgateway as in Kubernetes: TLS without certificate checks, to the EPP Service's name. */
    private static ExtProcClient agentgateway(int eppPort) {
        return ExtProcClient.insecureTls("127.0.0.1", eppPort, "vllm-qwen3-06b-epp.llm");
    }

    /** A chat completion for the release's model through agentgateway's exchange; returns the EPP's pick. */
    private static String pickEndpoint(ExtProcClient gateway, String prompt) throws InterruptedException {
        byte[] body = Messages.utf8("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + prompt + "\"}],\"max_tokens\":16}");
        ExtProcClient.Answer answer = gateway.exchange(Dialect.AGENTGATEWAY, Messages.post("/v1/chat/completions",
                body.length, "x-gateway-base-model-name", MODEL), body, null);
        assertTrue(answer.picked(), "the EPP answered itself with status " + answer.immediateStatus());
        return answer.destination();
    }

    /** The walkthrough's exact flags; the target port is moved to a free one so loopback servers can bind it. */
    private static Chart seedRelease(int modelPort) {
        return Chart.bare(RELEASE, NAMESPACE)
                .set("inferencePool.modelServers.matchLabels.app", RELEASE)
                .set("provider.name", "none")
                .set("inferencePool.modelServerType", "vllm")
                .set("experimentalHttpRoute.enabled", true)
                .set("experimentalHttpRoute.baseModel", MODEL)
                .set("inferencePool.targetPorts[0].number", modelPort);
    }

    /** The rendered Deployment's args, with ephemeral ports and the rendered ConfigMap file on local disk. */
    private List<String> eppArgs(Chart.Rendered rendered) throws IOException {
        Deployment deployment = rendered.get(Deployment.class, RELEASE + "-epp");
        var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        String mountPath = container.getVolumeMounts().stream()
                .filter(m -> m.getName().equals("plugins-config-volume")).findFirst().orElseThrow().getMountPath();
        Path configDir = Files.createDirectories(tempDir.resolve("config"));
        rendered.get(ConfigMap.class, RELEASE + "-epp").getData()
                .forEach((file, content) -> write(configDir.resolve(file), content));

        List<String> args = new ArrayList<>();
        for (String arg : container.getArgs()) {
            args.add(arg.startsWith(mountPath + "/") ? configDir.resolve(arg.substring(mountPath.length() + 1)).toString()
                    : arg);
        }
        // flag names only: the rewritten config path holds the checkout's directory, whatever its name
        assertTrue(container.getArgs().stream().noneMatch(a -> a.startsWith("--") && a.contains("port")),
                "the chart renders no port flags: " + container.getArgs());
        args.addAll(List.of("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0"));
        return args;
    }

    private void applyToApiServer(Chart.Rendered rendered) {
        for (HasMetadata object : rendered.objects) {
            if (object.getKind().equals("InferencePool")) {
                client.genericKubernetesResources(INFERENCE_POOL).inNamespace(NAMESPACE)
                        .resource((GenericKubernetesResource) object).create();
            } else {
                client.resource(object).inNamespace(NAMESPACE).create();
            }
        }
        assertEquals(1, client.genericKubernetesResources(INFERENCE_POOL).inNamespace(NAMESPACE).list().getItems().size());
    }

    private void createPod(String name, String app, String ip, boolean ready) {
        Pod pod = new PodBuilder()
                .withNewMetadata().withName(name).withNamespace(NAMESPACE).addToLabels("app", app).endMetadata()
                .withNewSpec().addNewContainer().withName("vllm").withImage("vllm/vllm-openai").endContainer().endSpec()
                .withNewStatus().withPhase("Running").withPodIP(ip)
                .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition()
                .endStatus()
                .build();
        client.pods().inNamespace(NAMESPACE).resource(pod).create();
    }

    private static void awaitServing(int healthPort, String service) throws InterruptedException {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", healthPort,
                InsecureChannelCredentials.create()).build();
        try {
            HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
            awaitTrue(() -> {
                try {
                    return health.withDeadlineAfter(2, TimeUnit.SECONDS)
                            .check(HealthCheckRequest.newBuilder().setService(service).build())
                            .getStatus() == HealthCheckResponse.ServingStatus.SERVING;
                } catch (RuntimeException e) {
                    return false;
                }
            }, "gRPC health service " + service + " SERVING (the pool synced from the API server)");
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + DEADLINE + ": " + what);
            }
            Thread.sleep(50);
        }
    }

    /** A stand-in model server: vLLM's gauges on /metrics, with the given queue and KV-cache use. */
    private HttpServer startModelServer(String ip, int port, int waiting, double kvCacheUsage) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(ip, port), 0);
        byte[] metrics = ("""
                # TYPE vllm:num_requests_waiting gauge
                vllm:num_requests_waiting{model_name="%1$s"} %2$d
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{model_name="%1$s"} %3$d
                # TYPE vllm:kv_cache_usage_perc gauge
                vllm:kv_cache_usage_perc{model_name="%1$s"} %4$s
                """.formatted(MODEL, waiting, Math.min(waiting, 8), kvCacheUsage)).getBytes(StandardCharsets.UTF_8);
        http.createContext("/metrics", exchange -> {
            scrapes.computeIfAbsent(ip, k -> new AtomicInteger()).incrementAndGet();
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
            exchange.sendResponseHeaders(200, metrics.length);
            exchange.getResponseBody().write(metrics);
            exchange.close();
        });
        http.start();
        return http;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void write(Path file, String content) {
        try {
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
