package io.epp4j.epp.precise;

import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.kvevents.CountingMetrics;
import io.epp4j.epp.kvevents.KvEventFrames;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A pod that serves only prefix hits publishes nothing and stays on its events; one whose publisher stops while it
 * serves a request with blocks to store is scored by the approximate index once stale, and from its events again
 * when they resume; with fallback off (the {@code precise-no-fallback} profile) its stale entries
 * keep scoring. Real PUB socket, injected ticker.
 */
class PreciseFallbackTest {

    static final String FIRST = "the first prompt, which is routed to A, so the approximate index learns it: "
            + "long enough for several of its blocks of sixty-four bytes, and then some more";
    static final String OTHER = "another prompt, never routed, that renders to the same token ids as the first "
            + "one does, so only the events know A holds its prefix; again long enough for blocks";
    static final int[] TOKENS = IntStream.range(0, 16).toArray();
    static final Endpoint A = new Endpoint(EndpointInfo.ofAddress("127.0.0.1", 8001), EndpointMetrics.UNKNOWN, 0, 0);

    private final ZContext zmq = new ZContext();
    private final AtomicLong now = new AtomicLong(1);
    private final CountingMetrics metrics = new CountingMetrics();
    private PrecisePrefixCacheProducer producer;

    @AfterEach
    void tearDown() {
        if (producer != null) {
            producer.close();
        }
        zmq.close();
    }

    private PluginContext context() {
        return new PluginContext() {
            @Override
            public Clock clock() {
                return Clock.systemUTC();
            }

            @Override
            public LongSupplier nanoTicker() {
                return now::get;
            }

            @Override
            public Random random(String pluginName) {
                return new Random(1);
            }

            @Override
            public <T> Optional<T> plugin(String name, Class<T> type) {
                return Optional.empty();
            }

            @Override
            public PluginMetrics metrics() {
                return metrics;
            }
        };
    }

    private static InferenceRequest request(String prompt) {
        return new InferenceRequest("r", ApiType.COMPLETIONS, "m", "m", ByteSlice.of(prompt), "", false, 0,
                "default-flow", Map.of(), prompt.length());
    }

    /** A's score for a request whose render gives {@code tokens}; routes it to A and answers it when {@code route}. */
    private double score(String prompt, int[] tokens, boolean route) {
        CycleState state = new CycleState();
        state.put(TokenizedPrompt.KEY, new TokenizedPrompt(tokens));
        InferenceRequest r = request(prompt);
        producer.produce(state, r, List.of(A));
        PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor(producer.name()));
        if (route) {
            producer.preRequest(state, r, new SchedulingResult("default", List.of(A)));
            producer.onResponseBody(state, r, A, ByteSlice.of("data: {}\n\n"), false);
        }
        return info.totalBlocks() == 0 ? 0 : info.matchedBlocks(A) / info.totalBlocks();
    }

    private double score(String prompt, boolean route) {
        return score(prompt, TOKENS, route);
    }

    @ParameterizedTest(name = "fallback {0}")
    @ValueSource(booleans = {true, false})
    void aStalePublisherFallsBackToTheApproximateIndexOnlyWithFallback(boolean fallback) throws Exception {
        ZMQ.Socket pub = zmq.createSocket(SocketType.PUB);
        int port = pub.bindToRandomPort("tcp://127.0.0.1");
        producer = new PrecisePrefixCacheProducer("precise", new PluginParameters(Map.of(
                "tokenProcessorConfig", Map.of("blockSizeTokens", 4),
                "kvEventsConfig", Map.of("podDiscoveryConfig", Map.of("socketPortOffset", port - 8001)),
                "fallback", Map.of("enabled", fallback, "staleAfter", "5s"))), context());
        producer.onAdded(A.info());
        String topic = "kv@" + A.hostPort() + "@m";
        Await.until("events joined", () -> {
            KvEventFrames.send(pub, topic, 0, KvEventFrames.stored(new long[] {1, 2, 3, 4}, null, TOKENS, 4));
            return producer.index().sizeOf(A.hostPort()) == 4;
        });
        // the copies of batch 0 still on their way are applied before the clock moves, or they would count as
        // events from a publisher that has stopped
        long applied;
        do {
            applied = metrics.count("epp4j_kv_events_total", A.hostPort(), "BlockStored");
            Thread.sleep(200);
        } while (metrics.count("epp4j_kv_events_total", A.hostPort(), "BlockStored") != applied);
        assertEquals(1.0, score(FIRST, true), 1e-9);
        // a request whose blocks A holds stores nothing there: A is quiet, not stale
        now.addAndGet(10_000_000_000L);
        assertEquals(1.0, score(OTHER, false), 1e-9, "a pod serving prefix hits stays on its events");
        // the publisher stops; A is sent a request with a block it must store, and answers it
        assertEquals(0.8, score(FIRST + " and a question", IntStream.range(0, 20).toArray(), true), 1e-9);
        now.addAndGet(4_000_000_000L);
        assertEquals(1.0, score(OTHER, false), 1e-9, "not stale yet");
        now.addAndGet(2_000_000_000L);
        assertEquals(fallback ? 0.0 : 1.0, score(OTHER, false), 1e-9);
        assertEquals(fallback ? 1.0 : 1.0, score(FIRST, false), 1e-9,
                "the approximate index still knows what was routed to A");
        // events resume
        KvEventFrames.send(pub, topic, 1, KvEventFrames.stored(new long[] {5}, 4L, IntStream.range(16, 20)
                .toArray(), 4));
        Await.until("events resumed", () -> producer.index().sizeOf(A.hostPort()) == 5);
        assertEquals(1.0, score(OTHER, false), 1e-9);
    }

}
