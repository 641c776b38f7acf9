package io.epp4j.scorers;

import io.epp4j.scorers.affinity.NoHitLruScorer;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixCacheScorer;
import io.epp4j.scorers.prefix.PrefixIndex;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.scorers.prefix.XxHash64;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.epp4j.scorers.Fixtures.NOW;
import static io.epp4j.scorers.Fixtures.context;
import static io.epp4j.scorers.Fixtures.endpoint;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefixCacheTest {

    @ParameterizedTest
    @CsvSource({
        "'', ef46db3751d8e999",
        "a, d24ec4f1a98c6e5b",
        "abc, 44bc2cf5ad770999",
        "Nobody inspects the spammish repetition, fbcea83c8a378bf1"})
    void xxHash64MatchesReferenceVectors(String input, String hex) {
        byte[] bytes = input.getBytes(StandardCharsets.UTF_8);
        assertEquals(Long.parseUnsignedLong(hex, 16), XxHash64.hash(bytes, 0, bytes.length, 0));
    }

    @Test
    void xxHash64OfASliceEqualsHashOfTheCopy() {
        byte[] data = new byte[300];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        for (int len : new int[] {0, 7, 8, 12, 31, 32, 33, 63, 64, 72, 200}) {
            byte[] copy = java.util.Arrays.copyOfRange(data, 17, 17 + len);
            assertEquals(XxHash64.hash(copy, 0, len, 5), XxHash64.hash(data, 17, len, 5), "len " + len);
        }
    }

    @Test
    void hashWithSuffixEqualsHashOfTheConcatenation() {
        byte[] data = new byte[200];
        new java.util.Random(9).nextBytes(data);
        byte[] scratch = new byte[40];
        long suffix = 0x0123456789ABCDEFL;
        for (int len = 0; len <= 100; len++) {
            byte[] joined = new byte[len + 8];
            System.arraycopy(data, 3, joined, 0, len);
            for (int b = 0; b < 8; b++) {
                joined[len + b] = (byte) (suffix >>> (8 * b));
            }
            assertEquals(XxHash64.hash(joined, 0, joined.length, 11),
                    XxHash64.hashWithSuffix(data, 3, len, suffix, 11, scratch), "len " + len);
        }
    }

    static Endpoint ep(int i, int blockSize, long numBlocks) {
        return endpoint(i, new EndpointMetrics(0, 0, 0, Set.of(), Set.of(), 0, blockSize, numBlocks, Double.NaN, NOW));
    }

    static InferenceRequest req(String model, String salt, String prompt) {
        return new InferenceRequest("r", ApiType.COMPLETIONS, model, model, ByteSlice.of(prompt), salt, false, 0,
                "default-flow", Map.of(), prompt.length());
    }

    static String blocks(int n, char c) {
        return String.valueOf(c).repeat(n * 64);
    }

    final ApproxPrefixCacheProducer producer = new ApproxPrefixCacheProducer(null,
            new PluginParameters(Map.of("autoTune", false, "blockSizeTokens", 16L)), context());
    final PrefixCacheScorer scorer = new PrefixCacheScorer(null);
    final List<Endpoint> pool = List.of(ep(1, -1, -1), ep(2, -1, -1), ep(3, -1, -1));

    double[] scoreAfterRouting(InferenceRequest request, Endpoint target) {
        CycleState state = new CycleState();
        producer.produce(state, request, pool);
        producer.preRequest(state, request, new SchedulingResult("default", List.of(target)));
        return score(request);
    }

    double[] score(InferenceRequest request) {
        CycleState state = new CycleState();
        producer.produce(state, request, pool);
        double[] s = new double[pool.size()];
        scorer.score(state, request, pool, s);
        return s;
    }

    @Test
    void learnsFromThePickAndScoresMatchedBlocksOverTotal() {
        String shared = blocks(3, 'a');
        scoreAfterRouting(req("m", "", shared + blocks(1, 'b')), pool.get(1));
        // the new prompt shares 3 of its 4 blocks with what pod-2 served
        assertArrayEquals(new double[] {0, 0.75, 0}, score(req("m", "", shared + blocks(1, 'c'))), 1e-9);
    }

    @Test
    void promptShorterThanOneBlockScoresZero() {
        scoreAfterRouting(req("m", "", "short"), pool.get(0));
        assertArrayEquals(new double[] {0, 0, 0}, score(req("m", "", "short")), 1e-9);
    }

    @Test
    void modelAndCacheSaltSeparateTheChains() {
        String prompt = blocks(2, 'x');
        scoreAfterRouting(req("m", "", prompt), pool.get(0));
        assertArrayEquals(new double[] {1, 0, 0}, score(req("m", "", prompt)), 1e-9);
        assertArrayEquals(new double[] {0, 0, 0}, score(req("other", "", prompt)), 1e-9);
        assertArrayEquals(new double[] {0, 0, 0}, score(req("m", "tenant-b", prompt)), 1e-9);
    }

    @Test
    void blockSizeFollowsFirstCandidatesMetricWhenAutoTuned() {
        ApproxPrefixCacheProducer tuned = new ApproxPrefixCacheProducer(null, PluginParameters.EMPTY, context());
        CycleState state = new CycleState();
        tuned.produce(state, req("m", "", "z".repeat(1000)), List.of(ep(1, 32, 100), ep(2, 16, 100)));
        assertEquals(1000 / (32 * 4), state.get(PrefixMatch.KEY).blockCount());
    }

    @Test
    void chainHashesDependOnEveryEarlierBlock() {
        long[] a = ApproxPrefixCacheProducer.hashBlocks(req("m", "", blocks(1, 'a') + blocks(1, 'c')), 64, 256);
        long[] b = ApproxPrefixCacheProducer.hashBlocks(req("m", "", blocks(1, 'b') + blocks(1, 'c')), 64, 256);
        assertNotEquals(a[1], b[1]);
        assertEquals(2, ApproxPrefixCacheProducer.hashBlocks(req("m", "", blocks(5, 'a')), 64, 2).length);
    }

    @Test
    void rejectsDeprecatedBlockSizeAlone() {
        assertThrows(IllegalArgumentException.class, () -> new ApproxPrefixCacheProducer(null,
                new PluginParameters(Map.of("blockSize", 64L)), context()));
    }

    @Test
    void indexEvictsLeastRecentlyUsedBlocksPerEndpoint() {
        PrefixIndex index = new PrefixIndex(4);
        index.add("a", new long[] {1, 2, 3}, 3, 2);
        assertEquals(2, index.sizeOf("a"));
        int a = index.idOf("a");
        assertEquals(0, index.match(new long[] {1}, 1)[a]);
        assertEquals(2, index.match(new long[] {2, 3}, 2)[a]);
        index.add("b", new long[] {2}, 1, 10);
        int[] m = index.match(new long[] {2, 3, 9}, 3);
        assertEquals(2, m[a]);
        assertEquals(1, m[index.idOf("b")]);
        index.removeEndpoint("a");
        assertEquals(1, index.size());
        assertEquals(-1, index.idOf("a"));
    }

    @Test
    void indexStaysConsistentThroughGrowthAndChurn() {
        PrefixIndex index = new PrefixIndex(16);
        java.util.Random r = new java.util.Random(1);
        for (int round = 0; round < 200; round++) {
            long[] h = new long[50];
            for (int i = 0; i < h.length; i++) {
                h[i] = r.nextInt(3000);
            }
            index.add("e" + r.nextInt(5), h, h.length, 400);
        }
        int total = 0;
        for (String e : index.endpoints()) {
            assertTrue(index.sizeOf(e) <= 400);
            total += index.sizeOf(e);
        }
        assertEquals(total, index.size());
        for (String e : index.endpoints()) {
            index.removeEndpoint(e);
        }
        assertEquals(0, index.size());
    }

    @Test
    void noHitLruSpreadsColdRequestsAndIsNeutralOnWarmOnes() {
        NoHitLruScorer lru = new NoHitLruScorer(null, PluginParameters.EMPTY);
        InferenceRequest cold = req("m", "", blocks(1, 'q'));
        CycleState s1 = new CycleState();
        producer.produce(s1, cold, pool);
        double[] scores = new double[3];
        lru.score(s1, cold, pool, scores);
        assertArrayEquals(new double[] {1, 1, 1}, scores, 1e-9);
        lru.preRequest(s1, cold, new SchedulingResult("default", List.of(pool.get(0))));
        CycleState s2 = new CycleState();
        producer.produce(s2, req("m", "", blocks(1, 'r')), pool);
        lru.score(s2, cold, pool, scores);
        assertArrayEquals(new double[] {0, 1, 1}, scores, 1e-9);

        scoreAfterRouting(req("m", "", blocks(2, 'w')), pool.get(2));
        CycleState warm = new CycleState();
        producer.produce(warm, req("m", "", blocks(2, 'w')), pool);
        assertTrue(warm.get(PrefixMatch.KEY).anyHit());
        lru.score(warm, cold, pool, scores);
        assertArrayEquals(new double[] {0.5, 0.5, 0.5}, scores, 1e-9);
        assertFalse(new PrefixMatch(new long[0], 0, new int[0], new PrefixIndex()).anyHit());
    }
}
