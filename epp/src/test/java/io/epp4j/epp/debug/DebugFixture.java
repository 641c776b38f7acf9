package io.epp4j.epp.debug;

import com.sun.net.httpserver.HttpServer;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * An EPP (default scheduling profile, real scraping) over static endpoints whose {@code /metrics} are real HTTP
 * servers answering vLLM's metrics with a different load each; and a way to drive requests through it over ext_proc.
 */
public final class DebugFixture implements AutoCloseable {

    /** Queue, running and KV-cache use of each endpoint's model server. */
    static final int[][] LOAD = {{0, 2, 12}, {3, 6, 47}, {9, 11, 83}};

    final List<HttpServer> modelServers = new ArrayList<>();
    private final List<AtomicReference<byte[]>> served = new ArrayList<>();
    final List<String> addresses = new ArrayList<>();
    final EppFixture epp;

    DebugFixture(String... flags) throws Exception {
        this(EppServer.Components.defaults(), flags);
    }

    public DebugFixture(EppServer.Components components, String... flags) throws Exception {
        for (int[] load : LOAD) {
            HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            AtomicReference<byte[]> current = new AtomicReference<>();
            served.add(current);
            setLoad(served.size() - 1, load);
            s.createContext("/metrics", ex -> {
                byte[] body = current.get();
                ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            });
            s.start();
            modelServers.add(s);
            addresses.add("127.0.0.1:" + s.getAddress().getPort());
        }
        List<String> all = new ArrayList<>(List.of("--endpoints=" + String.join(",", addresses),
                "--refresh-metrics-interval=20ms"));
        all.addAll(List.of(flags));
        epp = EppFixture.start(EppFixture.Transport.TCP, components, all.toArray(String[]::new));
        await("every endpoint scraped", () -> epp.server.endpointStore().snapshot().stream()
                .allMatch(e -> e.metrics().known()));
    }

    /** What endpoint {@code i}'s model server reports from now on: {queue, running, KV-cache %}. */
    void setLoad(int i, int[] load) {
        served.get(i).set(vllmMetrics(load[0], load[1], load[2] / 100.0).getBytes(StandardCharsets.UTF_8));
    }

    static String vllmMetrics(int waiting, int running, double kv) {
        return String.format(Locale.ROOT, """
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{model_name="m"} %d
                # TYPE vllm:num_requests_waiting gauge
                vllm:num_requests_waiting{model_name="m"} %d
                # TYPE vllm:kv_cache_usage_perc gauge
                vllm:kv_cache_usage_perc{model_name="m"} %s
                """, running, waiting, kv);
    }

    /** Sends a chat request with {@code requestId}; returns the stream and the chosen destination. */
    public Started start(String requestId, String model, String... extraHeaders) throws InterruptedException {
        byte[] body = Messages.chatBody(model, false, 200);
        String[] headers = new String[extraHeaders.length + 2];
        headers[0] = "x-request-id";
        headers[1] = requestId;
        System.arraycopy(extraHeaders, 0, headers, 2, extraHeaders.length);
        GatewayStream s = epp.post(Dialect.ENVOY, "/v1/chat/completions", body, 1 << 20, null, headers);
        ProcessingResponse answer = s.next();
        String destination = Messages.setHeader(answer.getRequestHeaders().getResponse().getHeaderMutation(),
                Messages.DESTINATION);
        s.nextUntilBodyEnd(true);
        return new Started(s, destination, answer);
    }

    public record Started(GatewayStream stream, String destination, ProcessingResponse headersAnswer) {
        /** Plays the model server's answer, with usage, and waits for the EPP's answers to it. */
        public void finish(int completionTokens) throws InterruptedException {
            stream.send(Messages.responseHeaders(Dialect.ENVOY, Map.of(":status", "200",
                    "content-type", "application/json"), false, null));
            stream.next();
            stream.send(Messages.responseBody(Messages.utf8("{\"model\":\"m\",\"choices\":[],\"usage\":"
                    + "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":8},\"completion_tokens\":"
                    + completionTokens + ",\"total_tokens\":"
                    + (40 + completionTokens) + "}}"), true, null));
            stream.nextUntilBodyEnd(false);
            stream.halfClose();
            stream.awaitClose();
        }
    }

    /** A request through every stage and back. */
    String complete(String requestId, String model) throws InterruptedException {
        Started s = start(requestId, model);
        s.finish(12);
        return s.destination();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + epp.server.metricsPort();
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GETs {@code path} and parses its JSON (YAML 1.2 reads JSON) into maps and lists. */
    @SuppressWarnings("unchecked")
    Map<String, Object> json(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = get(path);
        if (r.statusCode() != 200) {
            throw new AssertionError("GET " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        if (!r.headers().firstValue("content-type").orElse("").startsWith("application/json")) {
            throw new AssertionError("GET " + path + " is not JSON: " + r.headers());
        }
        return (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(r.body());
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Override
    public void close() {
        epp.close();
        modelServers.forEach(s -> s.stop(0));
    }
}
