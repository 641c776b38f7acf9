package io.epp4j.epp.k8s;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProtocolConfiguration;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The EPP as a separate process ({@code java -cp <test class path> io.epp4j.epp.Main}) found through a kubeconfig,
 * plus a minimal gateway: one ext_proc stream per request, reading {@code x-gateway-destination-endpoint}.
 */
final class EppProcess implements AutoCloseable {

    private static final Pattern PORTS = Pattern.compile(
            "serving ext_proc on :(\\d+) .*health on :(\\d+), metrics on :(\\d+)");

    private final Process process;
    private final Path log;
    private final ManagedChannel extProc;
    private final ManagedChannel health;
    private final int metricsPort;

    /** What the EPP answered to one request. */
    record Answer(String endpoint, int immediateStatus, String forwardedBody, String returnedBody) {
        boolean picked() {
            return endpoint != null;
        }
    }

    private EppProcess(Process process, Path log, int grpcPort, int healthPort, int metricsPort) {
        this.process = process;
        this.metricsPort = metricsPort;
        this.log = log;
        this.extProc = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort, InsecureChannelCredentials.create())
                .build();
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
                "--secure-serving=false", "--grace-period=1s"));
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
     * One chat completion through ext_proc (FULL_DUPLEX_STREAMED, as GAIE's gateways configure it); with a
     * {@code modelServerAnswer}, that body is then played back as the model server's response.
     */
    Answer request(String model, Map<String, String> extraHeaders, String modelServerAnswer)
            throws InterruptedException {
        // A different prompt each time: a prefix-aware scheduler must not pin every request to one pod.
        byte[] body = ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + java.util.UUID.randomUUID() + " hi\"}]}").getBytes(StandardCharsets.UTF_8);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(":method", "POST");
        headers.put(":scheme", "http");
        headers.put(":authority", "gateway");
        headers.put(":path", "/v1/chat/completions");
        headers.put("content-type", "application/json");
        headers.put("content-length", Integer.toString(body.length));
        headers.putAll(extraHeaders);
        HeaderMap.Builder map = HeaderMap.newBuilder();
        headers.forEach((k, v) -> map.addHeaders(HeaderValue.newBuilder().setKey(k)
                .setRawValue(ByteString.copyFromUtf8(v))));

        LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
        StreamObserver<ProcessingRequest> out = ExternalProcessorGrpc.newStub(extProc)
                .withDeadlineAfter(30, TimeUnit.SECONDS) // generous: the test machine may be loaded
                .process(new StreamObserver<>() {
                    @Override
                    public void onNext(ProcessingResponse value) {
                        answers.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answers.add(t);
                    }

                    @Override
                    public void onCompleted() {
                        answers.add("done");
                    }
                });
        ProtocolConfiguration config = ProtocolConfiguration.newBuilder()
                .setRequestBodyMode(BodySendMode.FULL_DUPLEX_STREAMED)
                .setResponseBodyMode(BodySendMode.FULL_DUPLEX_STREAMED).build();
        out.onNext(ProcessingRequest.newBuilder().setProtocolConfig(config)
                .setRequestHeaders(HttpHeaders.newBuilder().setHeaders(map)).build());
        out.onNext(ProcessingRequest.newBuilder()
                .setRequestBody(HttpBody.newBuilder().setBody(ByteString.copyFrom(body)).setEndOfStream(true))
                .build());
        String endpoint = null;
        StringBuilder forwarded = new StringBuilder();
        try {
            while (true) {
                Object a = answers.poll(30, TimeUnit.SECONDS);
                if (a == null) {
                    throw new AssertionError("no answer from the EPP within 30 s");
                }
                if (a instanceof Throwable t) {
                    throw new AssertionError("ext_proc stream failed", t);
                }
                if (!(a instanceof ProcessingResponse r)) {
                    throw new AssertionError("stream ended before the request was answered");
                }
                if (r.hasImmediateResponse()) {
                    return new Answer(null, r.getImmediateResponse().getStatus().getCodeValue(), null, null);
                }
                if (r.hasRequestHeaders()) {
                    endpoint = header(r.getRequestHeaders().getResponse().getHeaderMutation(),
                            "x-gateway-destination-endpoint");
                }
                if (r.hasRequestBody()) {
                    var streamed = r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse();
                    forwarded.append(streamed.getBody().toStringUtf8());
                    if (streamed.getEndOfStream()) {
                        if (modelServerAnswer == null) {
                            return new Answer(endpoint, 0, forwarded.toString(), null);
                        }
                        break;
                    }
                }
            }
            // The model server's answer flows back through the EPP (response headers, then the body).
            HeaderMap.Builder responseHeaders = HeaderMap.newBuilder();
            Map.of(":status", "200", "content-type", "application/json").forEach((k, v) -> responseHeaders
                    .addHeaders(HeaderValue.newBuilder().setKey(k).setRawValue(ByteString.copyFromUtf8(v))));
            out.onNext(ProcessingRequest.newBuilder()
                    .setResponseHeaders(HttpHeaders.newBuilder().setHeaders(responseHeaders)).build());
            out.onNext(ProcessingRequest.newBuilder().setResponseBody(HttpBody.newBuilder()
                    .setBody(ByteString.copyFromUtf8(modelServerAnswer)).setEndOfStream(true)).build());
            StringBuilder returned = new StringBuilder();
            while (true) {
                Object a = answers.poll(30, TimeUnit.SECONDS);
                if (!(a instanceof ProcessingResponse r)) {
                    throw new AssertionError("no response-body answer from the EPP: " + a);
                }
                if (r.hasResponseBody()) {
                    var streamed = r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse();
                    returned.append(streamed.getBody().toStringUtf8());
                    if (streamed.getEndOfStream()) {
                        return new Answer(endpoint, 0, forwarded.toString(), returned.toString());
                    }
                }
            }
        } finally {
            out.onCompleted();
        }
    }

    Answer request(String model, Map<String, String> extraHeaders) throws InterruptedException {
        return request(model, extraHeaders, null);
    }

    Answer request(String model) throws InterruptedException {
        return request(model, Map.of(), null);
    }

    private static String header(HeaderMutation mutation, String name) {
        for (var option : mutation.getSetHeadersList()) {
            if (option.getHeader().getKey().equalsIgnoreCase(name)) {
                return option.getHeader().getRawValue().isEmpty() ? option.getHeader().getValue()
                        : option.getHeader().getRawValue().toStringUtf8();
            }
        }
        return null;
    }

    /** SIGTERM, as the kubelet does; waits for the graceful stop, then kills. */
    void stop() throws InterruptedException {
        extProc.shutdownNow();
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
