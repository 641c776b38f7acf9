package io.epp4j.epp.kvevents;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvBlockIndexTest {

    static final List<KvBlockIndex.Tier> TIERS = List.of(new KvBlockIndex.Tier("gpu", 1.0),
            new KvBlockIndex.Tier("cpu", 0.8));
    static final String MODEL = "Qwen/Qwen3-32B";

    private final KvBlockIndex index = new KvBlockIndex(10_000, 4, TIERS);

    static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    static KvEvent.BlockStored stored(long[] hashes, Long parent, int[] tokens, int blockSize) {
        return new KvEvent.BlockStored(hashes, parent != null, parent == null ? 0 : parent, tokens, blockSize, null,
                "GPU", 0, "full_attention");
    }

    static long[] requestKeys(String model, int[] tokens, int blockSize) {
        return RequestKeys.keys(RequestKeys.root(model), tokens, tokens.length, blockSize, Integer.MAX_VALUE);
    }

    @Test
    void matchesTheLongestRunEachPodStored() {
        int[] prompt = tokens(100, 16);
        index.apply("a:8000", MODEL, List.of(stored(new long[] {1, 2, 3, 4}, null, prompt, 4)));
        index.apply("b:8000", MODEL, List.of(stored(new long[] {11, 12}, null, tokens(100, 8), 4)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        KvBlockIndex.Match m = index.match(keys, keys.length);
        assertEquals(4, m.matchedBlocks("a:8000"));
        assertEquals(2, m.matchedBlocks("b:8000"));
        assertEquals(0, m.matchedBlocks("c:8000"));
    }

    @Test
    void matchingFromTokenIdsFindsTheSameRunsAsMatchingTheirKeysAcrossChunks() {
        int[] prompt = tokens(500, 4 * 200);
        long[] hashes = new long[150];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = 1000 + i;
        }
        // a holds 150 blocks (three lookup chunks), b the first 70 and a tail of its own, c nothing of it
        index.apply("a:8000", MODEL, List.of(stored(hashes, null, java.util.Arrays.copyOf(prompt, 4 * 150), 4)));
        int[] other = java.util.Arrays.copyOf(prompt, 4 * 80);
        other[4 * 75] = -1;
        index.apply("b:8000", MODEL, List.of(stored(IntStream.range(0, 80).asLongStream().map(i -> 5000 + i)
                .toArray(), null, other, 4)));
        index.apply("c:8000", MODEL, List.of(stored(new long[] {9000}, null, tokens(0, 4), 4)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        for (int max : new int[] {200, 150, 64, 10}) {
            KvBlockIndex.Match byKeys = index.match(keys, max);
            KvBlockIndex.Match byTokens = index.match(RequestKeys.root(MODEL), prompt, prompt.length, max);
            assertEquals(max, byTokens.blocks(), "every block of the prompt counts, hashed or not");
            for (String pod : List.of("a:8000", "b:8000", "c:8000")) {
                assertEquals(byKeys.matchedBlocks(pod), byTokens.matchedBlocks(pod), pod + " up to " + max);
            }
            assertEquals(Math.min(150, max), byTokens.matchedBlocks("a:8000"));
            assertEquals(Math.min(75, max), byTokens.matchedBlocks("b:8000"));
            assertEquals(0, byTokens.matchedBlocks("c:8000"));
        }
    }

    @Test
    void aStoredSpanChainsFromItsParentsKey() {
        int[] prompt = tokens(7, 12);
        index.apply("a:8000", MODEL, List.of(stored(new long[] {-5}, null, tokens(7, 4), 4)));
        index.apply("a:8000", MODEL, List.of(stored(new long[] {-6, -7}, -5L, tokens(11, 8), 4)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        assertEquals(3, index.match(keys, 3).matchedBlocks("a:8000"));
    }

    @Test
    void aSpanWithAnUnknownParentIsDroppedAndCounted() {
        index.apply("a:8000", MODEL, List.of(stored(new long[] {9}, 99L, tokens(0, 4), 4)));
        assertEquals(0, index.size());
        assertEquals(1, index.parentUnknownTotal());
    }

    @Test
    void removalsAndClearsForgetBlocksOfThatPodOnly() {
        int[] prompt = tokens(0, 12);
        index.apply("a:8000", MODEL, List.of(stored(new long[] {1, 2, 3}, null, prompt, 4)));
        index.apply("b:8000", MODEL, List.of(stored(new long[] {1, 2, 3}, null, prompt, 4)));
        index.apply("a:8000", MODEL, List.of(new KvEvent.BlockRemoved(new long[] {2}, "GPU", 0)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        assertEquals(1, index.match(keys, 3).matchedBlocks("a:8000"));
        assertEquals(3, index.match(keys, 3).matchedBlocks("b:8000"));
        index.apply("b:8000", MODEL, List.of(new KvEvent.AllBlocksCleared()));
        assertEquals(0, index.match(keys, 3).matchedBlocks("b:8000"));
        assertEquals(2, index.size());
    }

    @Test
    void modelAndLoraAdapterAreInTheKey() {
        int[] prompt = tokens(0, 8);
        index.apply("a:8000", MODEL, List.of(new KvEvent.BlockStored(new long[] {1, 2}, false, 0, prompt, 4,
                "sql-lora", "GPU", 0, null)));
        long[] base = requestKeys(MODEL, prompt, 4);
        long[] lora = requestKeys("sql-lora", prompt, 4);
        assertEquals(0, index.match(base, 2).matchedBlocks("a:8000"));
        assertEquals(2, index.match(lora, 2).matchedBlocks("a:8000"));
    }

    @Test
    void largerEngineBlocksSplitIntoIndexBlocks() {
        int[] prompt = tokens(0, 16);
        index.apply("a:8000", MODEL, List.of(stored(new long[] {1}, null, tokens(0, 8), 8)));
        index.apply("a:8000", MODEL, List.of(stored(new long[] {2}, 1L, tokens(8, 8), 8)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        assertEquals(4, index.match(keys, 4).matchedBlocks("a:8000"));
        index.apply("a:8000", MODEL, List.of(new KvEvent.BlockRemoved(new long[] {2}, null, 0)));
        assertEquals(2, index.match(keys, 4).matchedBlocks("a:8000"));
    }

    @Test
    void offloadedTierCountsAtItsWeight() {
        int[] prompt = tokens(0, 8);
        index.apply("a:8000", MODEL, List.of(stored(new long[] {1, 2}, null, prompt, 4)));
        index.apply("a:8000", MODEL, List.of(new KvEvent.BlockStored(new long[] {1, 2}, false, 0, new int[0], 4,
                null, "CPU", 0, null), new KvEvent.BlockRemoved(new long[] {2}, "GPU", 0)));
        long[] keys = requestKeys(MODEL, prompt, 4);
        KvBlockIndex.Match m = index.match(keys, 2);
        assertEquals(2, m.matchedBlocks("a:8000"));
        assertEquals(1.8, m.weightedBlocks("a:8000"), 1e-9);
    }

    @Test
    void slidingWindowGroupsAreNotIndexed() {
        index.apply("a:8000", MODEL, List.of(new KvEvent.BlockStored(new long[] {1}, false, 0, tokens(0, 4), 4,
                null, "GPU", 1, "sliding_window")));
        assertEquals(0, index.size());
        assertEquals(1, index.unsupportedTotal());
    }

    @Test
    void capacityIsHeldByEvictingUnusedEntries() {
        KvBlockIndex small = new KvBlockIndex(100, 4, TIERS);
        long parent = 0;
        for (int i = 0; i < 1000; i++) {
            small.apply("a:8000", MODEL, List.of(stored(new long[] {i + 1}, i == 0 ? null : parent, tokens(i * 4, 4),
                    4)));
            parent = i + 1;
        }
        assertEquals(100, small.size());
        assertTrue(small.evictionsTotal() >= 900);
    }

    @Test
    void speculativeEntriesExpireUnlessConfirmed() {
        int[] prompt = tokens(0, 8);
        long[] keys = requestKeys(MODEL, prompt, 4);
        index.addSpeculative("a:8000", keys, 2, 1_000);
        index.addSpeculative("b:8000", keys, 2, 1_000);
        assertEquals(2, index.match(keys, 2).matchedBlocks("a:8000"));
        index.apply("a:8000", MODEL, List.of(stored(new long[] {1, 2}, null, prompt, 4)));
        index.expireSpeculative(999);
        assertEquals(2, index.match(keys, 2).matchedBlocks("b:8000"));
        index.expireSpeculative(1_000);
        assertEquals(2, index.match(keys, 2).matchedBlocks("a:8000"));
        assertEquals(0, index.match(keys, 2).matchedBlocks("b:8000"));
        assertEquals(2, index.size());
    }
}
