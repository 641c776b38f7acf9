package io.epp4j.e2e;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.stack.EmbeddedEpp;
import io.epp4j.gatewaykit.Dialect;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every gateway dialect, end to end: the gateway simulator speaking it → one real epp4j EPP (over TLS, as the
 * gateways connect in Kubernetes) → simulated vLLM pods, with a streamed answer coming back through the EPP.
 */
class GatewayDialectsE2ETest {

    private static final String MODEL = "Qwen/Qwen3-0.6B";
    private static SimFleet fleet;
    private static EmbeddedEpp epp;

    @BeforeAll
    static void start() throws Exception {
        fleet = SimFleet.start(SimConfig.defaults(MODEL).withTimeScale(100), "pod", 2, 0);
        epp = EmbeddedEpp.start(fleet.addresses(), true, null);
    }

    @AfterAll
    static void stop() throws Exception {
        epp.close();
        fleet.close();
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void eachDialectIsRoutedToAPodAndGetsItsStreamBack(Dialect dialect) throws Exception {
        try (GatewaySim gateway = GatewaySim.start(0, Map.of(MODEL, MODEL),
                List.of(new Pool("qwen", MODEL, fleet.addresses(), new Pool.ViaEpp("127.0.0.1", epp.grpcPort(),
                        true, dialect))))) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + gateway.port() + "/v1/chat/completions"))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + MODEL + "\",\"stream\":true,"
                            + "\"stream_options\":{\"include_usage\":true},\"max_tokens\":4,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"hello " + dialect + "\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(fleet.addresses().contains(r.headers().firstValue(GatewaySim.SERVED_HEADER).orElseThrow()));
            String[] events = r.body().split("\n\n");
            assertEquals("data: [DONE]", events[events.length - 1]);
            Map<?, ?> usage = (Map<?, ?>) Json.parseObject(events[events.length - 2].substring(6)).get("usage");
            assertEquals(4.0, usage.get("completion_tokens"));
            assertTrue(gateway.responseChunksToEpp() >= events.length, "every SSE event went through the EPP as a "
                    + "chunk of its own: " + gateway.responseChunksToEpp() + " chunks, " + events.length + " events");
        }
    }
}
