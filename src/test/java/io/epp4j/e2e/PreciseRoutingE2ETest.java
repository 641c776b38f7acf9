package io.epp4j.e2e;

import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.sim.KvEventsConfig;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.bench.stack.EmbeddedEpp;
import io.epp4j.gatewaykit.Dialect;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Precise prefix-cache routing end to end: simulated vLLM pods publish their KV-cache events over ZMQ, a real epp4j
 * EPP with {@code bench/configs/precise.yaml} subscribes to them and tokenizes through a pod's render endpoint, and
 * the gateway simulator's requests go to the pod whose cache holds their prefix, although the EPP never routed
 * that prefix (the pods were filled behind its back).
 */
class PreciseRoutingE2ETest {

    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private final HttpClient client = HttpClient.newHttpClient();
    private SimFleet fleet;
    private EmbeddedEpp epp;

    @AfterEach
    void stop() throws Exception {
        if (epp != null) {
            epp.close();
        }
        if (fleet != null) {
            fleet.close();
        }
    }

    private static String prompt(String seed, int chars) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < chars; i++) {
            sb.append(seed).append(' ').append(i).append(' ');
        }
        return sb.substring(0, chars);
    }

    private HttpResponse<String> complete(String hostPort, String prompt) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + hostPort + "/v1/completions"))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"max_tokens\":2,\"prompt\":\""
                        + prompt + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of the EPP's {@code epp4j_kv_events_total} samples for {@code type}. */
    private double appliedEvents(String type) throws Exception {
        String text = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + epp.metricsPort()
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("epp4j_kv_events_total{") && line.contains("type=\"" + type + "\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    @Test
    void routesEachRequestToThePodWhoseEventsHoldItsPrefix() throws Exception {
        fleet = SimFleet.start(SimConfig.defaults(MODEL).withTimeScale(100), "pod", 3, 0,
                KvEventsConfig.servingPortOffsets(1000, 2000));
        Path config = Replay.forFleet(Replay.defaultConfigs(Path.of("")).resolve("precise.yaml"), MODEL,
                fleet.addresses().get(0));
        epp = EmbeddedEpp.start(fleet.addresses(), false, config.toString());
        // each pod gets a long prefix of its own, straight from a client: the EPP routed none of them
        List<String> prefixes = List.of(prompt("alpha", 4000), prompt("bravo", 4000), prompt("charlie", 4000));
        for (int i = 0; i < 3; i++) {
            SimServer pod = fleet.servers().get(i);
            assertEquals(200, complete(pod.hostPort(), prefixes.get(i)).statusCode());
        }
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (appliedEvents("BlockStored") < 3 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(appliedEvents("BlockStored") >= 3, "the EPP applied every pod's BlockStored");
        try (GatewaySim gateway = GatewaySim.start(0, Map.of(MODEL, MODEL), List.of(new Pool("pool", MODEL,
                fleet.addresses(), new Pool.ViaEpp("127.0.0.1", epp.grpcPort(), false, Dialect.AGENTGATEWAY))))) {
            for (int round = 0; round < 2; round++) {
                for (int i = 2; i >= 0; i--) {
                    HttpResponse<String> r = complete("127.0.0.1:" + gateway.port(), prefixes.get(i)
                            + " question " + round);
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals("pod-" + i, r.headers().firstValue("x-inference-pod").orElseThrow(),
                            "the request goes to the pod holding its prefix");
                }
            }
        }
    }
}
