package io.epp4j.epp.precise;

import io.epp4j.epp.kvevents.RequestKeys;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A request that carries its token ids (vLLM's generate, SGLang's input_ids, a vLLM gRPC tokenized input) is looked
 * up in the precise index by those ids: no render call, and no token-producer needed.
 */
class CarriedTokenIdsTest {

    static final int[] TOKENS = IntStream.range(100, 132).toArray(); // two blocks of 16
    static final Endpoint A = new Endpoint(EndpointInfo.ofAddress("127.0.0.1", 8001), EndpointMetrics.UNKNOWN, 0, 0);
    static final Endpoint B = new Endpoint(EndpointInfo.ofAddress("127.0.0.1", 8002), EndpointMetrics.UNKNOWN, 0, 0);

    private PrecisePrefixCacheProducer producer;

    @AfterEach
    void tearDown() {
        if (producer != null) {
            producer.close();
        }
    }

    static PluginContext context() {
        return new PluginContext() {
            @Override
            public Clock clock() {
                return Clock.systemUTC();
            }

            @Override
            public LongSupplier nanoTicker() {
                return () -> 0L;
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
                return PluginMetrics.NONE;
            }
        };
    }

    /** A generate request whose body carried {@code tokens}; its prompt bytes are the JSON array. */
    static InferenceRequest generate(int[] tokens) {
        String json = java.util.Arrays.toString(tokens).replace(" ", "");
        return new InferenceRequest("r", ApiType.GENERATE, "m", "m", ByteSlice.of(json), "", false, 0,
                "default-flow", Map.of(), json.length(), tokens);
    }

    @Test
    void theTokenProducerPassesCarriedIdsOnWithoutAskingTheServer() {
        TokenProducer tokens = new TokenProducer("tokens", request -> {
            throw new java.io.IOException("the render endpoint must not be called");
        }, context());
        CycleState state = new CycleState();
        tokens.produce(state, generate(TOKENS), List.of(A));
        assertArrayEquals(TOKENS, state.get(TokenizedPrompt.KEY).tokenIds());
    }

    @Test
    void thePreciseProducerMatchesCarriedIdsAgainstTheIndex() {
        producer = new PrecisePrefixCacheProducer("precise", new PluginParameters(Map.of(
                "tokenProcessorConfig", Map.of("blockSizeTokens", 16),
                "fallback", Map.of("enabled", false))), context());
        long[] keys = RequestKeys.keys(RequestKeys.root("m"), TOKENS, TOKENS.length, 16, Integer.MAX_VALUE);
        producer.index().addSpeculative(B.hostPort(), keys, keys.length, Long.MAX_VALUE);

        CycleState state = new CycleState(); // no token-producer ran
        producer.produce(state, generate(TOKENS), List.of(A, B));
        PrefixMatchInfo info = state.get(PrefixMatchInfo.keyFor("precise"));
        assertEquals(2, info.totalBlocks());
        assertEquals(2.0, info.matchedBlocks(B), 1e-9);
        assertEquals(0.0, info.matchedBlocks(A), 1e-9);
    }
}
