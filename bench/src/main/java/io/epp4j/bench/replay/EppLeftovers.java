package io.epp4j.bench.replay;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an EPP still holds once every client of a replay has its answer, read from its {@code /metrics} and
 * {@code /debug/endpoints}: requests waiting in flow control, requests it dispatched that have not ended, open
 * ext_proc streams, and the in-flight counts its endpoints carry (what {@code concurrency-detector} reads). A
 * replay that leaves any of them above zero lost track of a request.
 *
 * @param queued sum of {@code inference_extension_flow_control_queue_size}
 * @param running sum of {@code inference_objective_running_requests}
 * @param streams {@code epp4j_ext_proc_streams}
 * @param endpointInFlight sum of the endpoints' {@code inFlightRequests}
 */
record EppLeftovers(long queued, long running, long streams, long endpointInFlight) {

    private static final Pattern IN_FLIGHT = Pattern.compile("\"inFlightRequests\"\\s*:\\s*(-?\\d+)");

    boolean none() {
        return queued == 0 && running == 0 && streams == 0 && endpointInFlight == 0;
    }

    /** The summary.json fields. */
    void putInto(Map<String, Object> m) {
        m.put("epp_left_queued", queued);
        m.put("epp_left_running", running);
        m.put("epp_left_streams", streams);
        m.put("epp_left_endpoint_in_flight", endpointInFlight);
    }

    /**
     * Reads the EPP on {@code metricsPort} until nothing is left or {@code patience} has passed (a stream's end
     * reaches the EPP a little after its client had the last byte), and returns the last reading.
     */
    static EppLeftovers await(int metricsPort, Duration patience) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            EppLeftovers now = read(client, metricsPort);
            if (now.none() || System.nanoTime() >= deadline) {
                return now;
            }
            Thread.sleep(100);
        }
    }

    static EppLeftovers read(HttpClient client, int metricsPort) throws IOException, InterruptedException {
        String metrics = get(client, metricsPort, "/metrics");
        String endpoints = get(client, metricsPort, "/debug/endpoints");
        long inFlight = 0;
        for (Matcher m = IN_FLIGHT.matcher(endpoints); m.find(); ) {
            inFlight += Long.parseLong(m.group(1));
        }
        return new EppLeftovers(sum(metrics, "inference_extension_flow_control_queue_size"),
                sum(metrics, "inference_objective_running_requests"), sum(metrics, "epp4j_ext_proc_streams"),
                inFlight);
    }

    /** The sum of every series of gauge {@code name} in Prometheus text {@code metrics} (0 when it has none). */
    static long sum(String metrics, String name) {
        double total = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name) && line.length() > name.length()
                    && (line.charAt(name.length()) == '{' || line.charAt(name.length()) == ' ')) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Math.round(total);
    }

    private static String get(HttpClient client, int port, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + path + " on the EPP: " + r.statusCode());
        }
        return r.body();
    }
}
