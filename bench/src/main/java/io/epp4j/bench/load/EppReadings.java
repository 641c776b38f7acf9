package io.epp4j.bench.load;

import io.epp4j.bench.cli.Json;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** What an operator reads off a running EPP's metrics port: its {@code /debug/endpoints} page and {@code /metrics}. */
public final class EppReadings {

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private EppReadings() {
    }

    /**
     * What the EPP holds for requests it decided: in-flight requests over every endpoint ({@code /debug/endpoints})
     * plus the running-request gauge ({@code inference_objective_running_requests}); 0 when nothing is in flight.
     */
    public static long inFlight(int metricsPort) {
        long held = 0;
        Map<String, Object> page = Json.parseObject(get(metricsPort, "/debug/endpoints"));
        for (Object e : (List<?>) page.get("endpoints")) {
            held += ((Number) ((Map<?, ?>) e).get("inFlightRequests")).longValue();
        }
        return held + (long) sum(metricsPort, "inference_objective_running_requests");
    }

    /** The sum of every series of the metric {@code name} on {@code /metrics}. */
    public static double sum(int metricsPort, String name) {
        double sum = 0;
        for (String line : get(metricsPort, "/metrics").split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** The body of {@code GET path}; fails unless it answers 200. */
    public static String get(int port, String path) {
        try {
            HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET " + path + " answered " + r.statusCode());
            }
            return r.body();
        } catch (IOException e) {
            throw new IllegalStateException("GET " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
