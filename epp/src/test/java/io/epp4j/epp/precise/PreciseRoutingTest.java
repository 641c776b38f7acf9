package io.epp4j.epp.precise;

import com.sun.net.httpserver.HttpServer;
import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.epp.kvevents.KvEventFrames;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.IntStream;

import static io.epp4j.gatewaykit.Messages.chatBody;
import static io.epp4j.gatewaykit.Messages.setHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Through ext_proc, in-process and over loopback TCP: a request goes to the pod whose KV events (real ZMQ publishers, vLLM's msgpack) say it holds
 * the request's prefix, as the model server's render endpoint tokenizes it; when the events move the prefix to
 * another pod, requests follow, although the approximate index learnt the first pod from the picks.
 */
class PreciseRoutingTest {

    static final String A = "127.0.0.1:8001";
    static final String B = "127.0.0.1:8002";
    static final int[] PROMPT = IntStream.range(0, 64).toArray();

    private final ZContext zmq = new ZContext();
    private HttpServer render;

    @AfterEach
    void tearDown() {
        zmq.close();
        if (render != null) {
            render.stop(0);
        }
    }

    @ParameterizedTest(name = "ext_proc {0}")
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void routesToThePodWhoseEventsHoldThePrefix(Transport transport) throws Exception {
        render = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        render.createContext("/v1/chat/completions/render", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] answer = ("{\"token_ids\":" + java.util.Arrays.toString(PROMPT) + "}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        render.start();
        ZMQ.Socket pubA = null;
        ZMQ.Socket pubB = null;
        int offset = 0;
        Random random = new Random();
        for (int attempt = 0; pubB == null && attempt < 20; attempt++) {
            offset = 20_000 + random.nextInt(20_000);
            try {
                pubA = zmq.createSocket(SocketType.PUB);
                pubA.bind("tcp://127.0.0.1:" + (8001 + offset));
                pubB = zmq.createSocket(SocketType.PUB);
                pubB.bind("tcp://127.0.0.1:" + (8002 + offset));
            } catch (ZMQException e) {
                pubB = null;
            }
        }
        String config = """
                apiVersion: llm-d.ai/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: token-producer
                  parameters:
                    modelName: m
                    vllm: {url: "http://127.0.0.1:%d"}
                - type: endpoint-notification-source
                - type: precise-prefix-cache-producer
                  parameters:
                    tokenProcessorConfig: {blockSizeTokens: 16}
                    kvEventsConfig:
                      podDiscoveryConfig: {socketPortOffset: %d}
                - type: prefix-cache-scorer
                  parameters: {prefixMatchInfoProducerName: precise-prefix-cache-producer}
                schedulingProfiles:
                - name: default
                  plugins:
                  - pluginRef: prefix-cache-scorer
                dataLayer:
                  sources:
                  - pluginRef: endpoint-notification-source
                    extractors:
                    - pluginRef: precise-prefix-cache-producer
                """.formatted(render.getAddress().getPort(), offset);
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=" + A + "," + B,
                "--config-text=" + config)) {
            ZMQ.Socket a = pubA;
            ZMQ.Socket b = pubB;
            // both pods publish an unrelated block until the EPP has joined (PUB drops before SUB connects)
            Await.until("both subscriptions joined", () -> {
                KvEventFrames.send(a, "kv@" + A + "@m", 0, KvEventFrames.stored(new long[] {-100}, null,
                        IntStream.range(1000, 1016).toArray(), 16));
                KvEventFrames.send(b, "kv@" + B + "@m", 0, KvEventFrames.stored(new long[] {-200}, null,
                        IntStream.range(2000, 2016).toArray(), 16));
                return entries(epp) == 2;
            });
            KvEventFrames.send(b, "kv@" + B + "@m", 1, KvEventFrames.stored(new long[] {1, 2, 3, 4}, null, PROMPT,
                    16));
            Await.until("B's prompt blocks indexed", () -> entries(epp) == 6);
            for (int i = 0; i < 5; i++) {
                assertEquals(B, route(epp));
            }
            KvEventFrames.send(b, "kv@" + B + "@m", 2, KvEventFrames.cleared());
            KvEventFrames.send(a, "kv@" + A + "@m", 1, KvEventFrames.stored(new long[] {5, 6, 7, 8}, null, PROMPT,
                    16));
            Await.until("B cleared, A holds the prompt", () -> entries(epp) == 5);
            for (int i = 0; i < 3; i++) {
                assertEquals(A, route(epp));
            }
        }
    }

    private static String route(EppFixture epp) throws Exception {
        GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", chatBody("m", false, 200), 1000, null);
        String destination = setHeader(s.next().getRequestHeaders().getResponse().getHeaderMutation(),
                "x-gateway-destination-endpoint");
        s.cancel();
        return destination;
    }

    private static double entries(EppFixture epp) {
        for (String line : TestPool.scrape(epp.server.registry()).split("\n")) {
            if (line.startsWith("epp4j_kv_index_entries ")) {
                return Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        return -1;
    }
}
