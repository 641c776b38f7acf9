package io.epp4j.scorers.llmd;

import io.epp4j.scorers.Fixtures;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.scorers.multimodal.MmEmbeddingsCacheProducer;
import io.epp4j.scorers.multimodal.MmEmbeddingsCacheScorer;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.endpoint;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class MmEmbeddingsCacheTest {

    final MmEmbeddingsCacheProducer producer = new MmEmbeddingsCacheProducer(null, PluginParameters.EMPTY,
            Fixtures.context());
    final MmEmbeddingsCacheScorer scorer = new MmEmbeddingsCacheScorer(null);
    final QueueScorer queue = new QueueScorer(null);

    /** A chat request's messages with the given media parts. */
    static InferenceRequest chat(String... parts) {
        String messages = "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"describe\"}"
                + String.join("", parts) + "]}]";
        return new InferenceRequest("r", ApiType.CHAT_COMPLETIONS, "m", "m", ByteSlice.of(messages), "", false, 0,
                "default-flow", Map.of(), messages.length());
    }

    static String image(String url) {
        return ",{\"type\": \"image_url\", \"image_url\": {\"detail\": \"auto\", \"url\": \"" + url + "\"}}";
    }

    static String audio(String data) {
        return ",{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"" + data + "\",\"format\":\"wav\"}}";
    }

    /** Runs producer, scorer and a queue scorer, records the pick like the EPP's pre-request step. */
    String route(InferenceRequest r, List<Endpoint> pool) {
        CycleState state = new CycleState();
        producer.produce(state, r, pool);
        String pod = Routing.pick(state, r, pool, List.of(), Map.of(scorer, 4.0, queue, 1.0));
        Endpoint target = pool.stream().filter(e -> e.info().podName().equals(pod)).findFirst().orElseThrow();
        producer.preRequest(state, r, new SchedulingResult("default", List.of(target)));
        return pod;
    }

    @Test
    void aRepeatedImageGoesBackToThePodThatEncodedIt() {
        List<Endpoint> idle = List.of(endpoint(1, 0, 0, 0), endpoint(2, 1, 0, 0), endpoint(3, 2, 0, 0));
        assertEquals("pod-1", route(chat(image("https://x/cat.png")), idle));
        List<Endpoint> busier = List.of(endpoint(1, 3, 0, 0), endpoint(2, 0, 0, 0), endpoint(3, 0, 0, 0));
        assertEquals("pod-1", route(chat(image("https://x/cat.png")), busier), "the encoder cache outweighs load");
        assertEquals("pod-2", route(chat(image("https://x/dog.png")), busier), "a new image: load decides");
    }

    @Test
    void scoreIsTheShareOfDistinctMediaItemsHeld() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0), endpoint(2, 0, 0, 0));
        route(chat(image("data:image/png;base64,AAAA"), audio("UklGRg==")), pool); // both to pod-1
        CycleState state = new CycleState();
        InferenceRequest r = chat(image("data:image/png;base64,AAAA"), image("data:image/png;base64,AAAA"),
                image("https://x/new.png"));
        producer.produce(state, r, pool);
        double[] s = new double[2];
        scorer.score(state, r, pool, s);
        assertArrayEquals(new double[] {0.5, 0.0}, s, 1e-9, "2 distinct images, 1 held; the repeat counts once");
    }

    @Test
    void textOnlyRequestsScoreZero() {
        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0));
        CycleState state = new CycleState();
        InferenceRequest r = chat(",{\"type\":\"text\",\"text\":\"the word image_url in text\"}");
        producer.produce(state, r, pool);
        double[] s = {7};
        scorer.score(state, r, pool, s);
        assertEquals(0.0, s[0]);
    }

    @Test
    void cacheSizeBoundsTheItemsRememberedPerPod() {
        MmEmbeddingsCacheProducer small = new MmEmbeddingsCacheProducer(null,
                new PluginParameters(Map.of("cacheSizeInMBPerServer", 4)), Fixtures.context());
        assertEquals(2, small.capacityPerEndpoint());
        assertEquals(2048, producer.capacityPerEndpoint());
        assertEquals(512, new MmEmbeddingsCacheProducer(null, new PluginParameters(Map.of("cacheSizeInMB", 1024)),
                Fixtures.context()).capacityPerEndpoint(), "the name in llm-d's sample config is read too");

        List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0));
        Endpoint pod = pool.get(0);
        for (String url : List.of("a", "b", "c")) {
            CycleState st = new CycleState();
            small.produce(st, chat(image(url)), pool);
            small.preRequest(st, chat(image(url)), new SchedulingResult("d", List.of(pod)));
        }
        CycleState state = new CycleState();
        InferenceRequest first = chat(image("a"));
        small.produce(state, first, pool);
        double[] s = new double[1];
        scorer.score(state, first, pool, s);
        assertEquals(0.0, s[0], "the oldest item was evicted");
    }
}
