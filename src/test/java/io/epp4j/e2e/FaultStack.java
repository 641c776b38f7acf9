package io.epp4j.e2e;

import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.load.EppReadings;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.gatewaykit.Dialect;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * What the fault tests share: simulated pods, a gateway simulator routing through one EPP, and the readings a
 * user of the EPP has (its {@code /debug/endpoints} page and {@code /metrics}), so that embedded and forked EPPs
 * are checked the same way.
 */
final class FaultStack {

    static final String MODEL = "Qwen/Qwen3-0.6B";
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private FaultStack() {
    }

    /** {@code n} simulated pods of {@link #MODEL} on ephemeral ports, {@code timeScale} times faster than real. */
    static List<SimServer> pods(int n, double timeScale) throws IOException {
        List<SimServer> pods = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pods.add(SimServer.start(SimConfig.defaults(MODEL).withSeed(7 + i).withTimeScale(timeScale), "pod-" + i,
                    0));
        }
        return pods;
    }

    static List<String> addresses(List<SimServer> pods) {
        return pods.stream().map(SimServer::hostPort).toList();
    }

    /** A gateway on an ephemeral port whose one pool of {@code endpoints} is routed by the EPP on {@code eppPort}. */
    static GatewaySim gateway(List<String> endpoints, int eppPort) throws IOException {
        return GatewaySim.start(0, Map.of(MODEL, MODEL), List.of(new Pool("pool", MODEL, endpoints,
                new Pool.ViaEpp("127.0.0.1", eppPort, false, Dialect.ISTIO))));
    }

    /** A chat completion of {@code maxTokens} through the gateway; status and body (a cut stream ends early). */
    static Answer chat(GatewaySim gateway, boolean stream, int maxTokens) {
        String body = "{\"model\":\"" + MODEL + "\",\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"tell me a story\"}]}";
        try {
            HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + gateway.port() + "/v1/chat/completions")).timeout(Duration.ofSeconds(30))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body(), r.headers().firstValue("x-inference-pod").orElse(""));
        } catch (IOException e) {
            return new Answer(-1, e.toString(), "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, e.toString(), "");
        }
    }

    /** A client's view of one request: HTTP status (-1: the connection broke), body, and the pod that served it. */
    record Answer(int status, String body, String pod) {
        /** A whole answer: 200 and, for a stream, its {@code [DONE]}. */
        boolean complete() {
            return status == 200 && (!body.startsWith("data:") || body.contains("data: [DONE]"));
        }
    }

    static long heldByEpp(int metricsPort) {
        return EppReadings.inFlight(metricsPort);
    }

    static double counter(int metricsPort, String name) {
        return EppReadings.sum(metricsPort, name);
    }

    static String get(int port, String path) {
        return EppReadings.get(port, path);
    }

    /** Polls {@code condition} until it holds or {@code within} passes. */
    static void await(String what, Duration within, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + within + " waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }
}
