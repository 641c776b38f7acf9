package io.epp4j.epp.k8s;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.ExtProcClient;
import io.epp4j.gatewaykit.Messages;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The EPP as a separate process ({@code java -cp <test class path> io.epp4j.epp.Main}) found through a kubeconfig,
 * plus a gateway: one ext_proc stream per request, as a plain Envoy sends it (the gateway kit's client).
 */
final class EppProcess implements AutoCloseable {

    private static final Pattern PORTS = Pattern.compile(
            "serving ext_proc on :(\\d+) .*health on :(\\d+), metrics on :(\\d+)");

    private final Process process;
    private final Path log;
    private final ExtProcClient extProc;
    private final ManagedChannel health;
    private final int metricsPort;

    private EppProcess(Process process, Path log, int grpcPort, int healthPort, int metricsPort) {
        this.process = process;
        this.metricsPort = metricsPort;
        this.log = log;
        this.extProc = ExtProcClient.plaintext("127.0.0.1", grpcPort);
        this.health = Grpc.newChannelBuilderForAddress("127.0.0.1", healthPort,
                InsecureChannelCredentials.create()).build();
    }

    /** Starts Main with KUBECONFIG pointing at the mock; waits until its servers listen. */
    static EppProcess start(Path kubeconfig, Path dir, String name, Map<String, String> env, String... flags)
            throws IOException, InterruptedException {
        return start(List.of("-cp", System.getProperty("java.class.path"), "io.epp4j.epp.Main"), kubeconfig, dir,
                name, env, flags);
    }

    /** As above with another launcher, e.g. {@code -jar epp.jar}. */
    static EppProcess start(List<String> launcher, Path kubeconfig, Path dir, String name, Map<String, String> env,
                            String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-XX:TieredStopAtLevel=1");
        command.addAll(launcher);
        command.addAll(List.of("--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                "--secure-serving=false", "--grace-period=1s",
                // these tests read /metrics without a token (MetricsAuthTest covers the auth)
                "--metrics-endpoint-auth=false"));
        command.addAll(List.of(flags));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("KUBERNETES_SERVICE_HOST");
        pb.environment().put("KUBECONFIG", kubeconfig.toString());
        pb.environment().put("HOME", dir.toString()); // no ~/.kube/config of the machine
        pb.environment().putAll(env);
        Process p = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher m = PORTS.matcher(text);
            if (m.find()) {
                return new EppProcess(p, log, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                        Integer.parseInt(m.group(3)));
            }
            if (!p.isAlive()) {
                throw new AssertionError("EPP exited with " + p.exitValue() + ":\n" + text);
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new AssertionError("EPP did not start within 60 s:\n" + Files.readString(log));
    }

    String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    long logLinesContaining(String fragment) {
        return log().lines().filter(l -> l.contains(fragment)).count();
    }

    /** The Prometheus exposition of the EPP's /metrics. */
    String metrics() throws IOException, InterruptedException {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        return http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    ServingStatus health(String service) {
        try {
            return HealthGrpc.newBlockingStub(health).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
        } catch (io.grpc.StatusRuntimeException e) {
            return ServingStatus.UNKNOWN; // callers poll; a direct assertion shows UNKNOWN
        }
    }

    /**
     * One chat completion through ext_proc as a plain Envoy sends it (FULL_DUPLEX_STREAMED, as GAIE's gateways
     * configure it); with a {@code modelServerAnswer}, that body is then played back as the model server's response.
     */
    ExtProcClient.Answer request(String model, Map<String, String> extraHeaders, String modelServerAnswer)
            throws InterruptedException {
        // A different prompt each time: a prefix-aware scheduler must not pin every request to one pod.
        byte[] body = ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + java.util.UUID.randomUUID() + " hi\"}]}").getBytes(StandardCharsets.UTF_8);
        Map<String, String> headers = new LinkedHashMap<>(Messages.post("/v1/chat/completions", body.length));
        headers.putAll(extraHeaders);
        return extProc.exchange(Dialect.ENVOY, headers, body, modelServerAnswer == null ? null
                : modelServerAnswer.getBytes(StandardCharsets.UTF_8));
    }

    ExtProcClient.Answer request(String model, Map<String, String> extraHeaders) throws InterruptedException {
        return request(model, extraHeaders, null);
    }

    ExtProcClient.Answer request(String model) throws InterruptedException {
        return request(model, Map.of(), null);
    }

    /** SIGTERM, as the kubelet does; waits for the graceful stop, then kills. */
    void stop() throws InterruptedException {
        extProc.close();
        health.shutdownNow();
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
