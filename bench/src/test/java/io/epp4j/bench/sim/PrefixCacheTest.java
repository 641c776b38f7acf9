package io.epp4j.bench.sim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class PrefixCacheTest {

    private static final int BLOCK = 4; // tokens per block = 16 characters

    private static String text(String... blocks) {
        StringBuilder sb = new StringBuilder();
        for (String b : blocks) {
            sb.append((b + "................").substring(0, 16));
        }
        return sb.toString();
    }

    @Test
    void equalPrefixesHashEquallyAndADifferentBlockChangesEveryLaterHash() {
        long[] a = PrefixCache.blockHashes("m", text("a", "b", "c"), BLOCK);
        long[] b = PrefixCache.blockHashes("m", text("a", "b", "d"), BLOCK);
        long[] c = PrefixCache.blockHashes("m", text("x", "b", "c"), BLOCK);
        assertEquals(3, a.length);
        assertEquals(a[0], b[0]);
        assertEquals(a[1], b[1]);
        assertNotEquals(a[2], b[2]);
        assertNotEquals(a[1], c[1], "hashes are chained: block 1 depends on block 0");
        assertNotEquals(a[0], PrefixCache.blockHashes("lora", text("a"), BLOCK)[0], "the model is part of the key");
    }

    @Test
    void partialTrailingBlockIsNotHashed() {
        assertEquals(1, PrefixCache.blockHashes("m", text("a") + "tail", BLOCK).length);
    }

    @Test
    void secondRequestWithSamePrefixHitsItsLeadingBlocks() {
        PrefixCache cache = new PrefixCache(100);
        PrefixCache.Allocation first = cache.allocate(PrefixCache.blockHashes("m", text("a", "b", "c"), BLOCK), 1);
        assertEquals(0, first.cachedBlocks());
        cache.release(first);
        PrefixCache.Allocation second = cache.allocate(PrefixCache.blockHashes("m", text("a", "b", "z"), BLOCK), 1);
        assertEquals(2, second.cachedBlocks());
    }

    @Test
    void evictsLeastRecentlyUsedUnreferencedBlocksTailFirst() {
        PrefixCache cache = new PrefixCache(4);
        PrefixCache.Allocation a = cache.allocate(PrefixCache.blockHashes("m", text("a1", "a2"), BLOCK), 0);
        cache.release(a);
        PrefixCache.Allocation b = cache.allocate(PrefixCache.blockHashes("m", text("b1", "b2"), BLOCK), 0);
        cache.release(b);
        // Needs one block: the eldest unreferenced block is a's tail, so a's head survives.
        PrefixCache.Allocation c = cache.allocate(PrefixCache.blockHashes("m", text("c1"), BLOCK), 0);
        assertNotNull(c);
        assertEquals(1, cache.cachedPrefix(PrefixCache.blockHashes("m", text("a1", "a2"), BLOCK)));
        assertEquals(2, cache.cachedPrefix(PrefixCache.blockHashes("m", text("b1", "b2"), BLOCK)));
    }

    @Test
    void referencedBlocksAreNeverEvictedAndAFullCacheRefusesWithoutSideEffects() {
        PrefixCache cache = new PrefixCache(3);
        long[] held = PrefixCache.blockHashes("m", text("h1", "h2"), BLOCK);
        assertNotNull(cache.allocate(held, 1));
        assertEquals(3, cache.usedBlocks());
        assertNull(cache.allocate(PrefixCache.blockHashes("m", text("x"), BLOCK), 0));
        assertEquals(2, cache.cachedPrefix(held));
        assertEquals(3, cache.usedBlocks());
    }

    @Test
    void usageCountsOnlyBlocksOfRunningRequests() {
        PrefixCache cache = new PrefixCache(10);
        PrefixCache.Allocation a = cache.allocate(PrefixCache.blockHashes("m", text("a", "b"), BLOCK), 2);
        assertEquals(4, cache.usedBlocks());
        cache.release(a);
        assertEquals(0, cache.usedBlocks());
        assertEquals(2, cache.residentBlocks());
        assertArrayEquals(a.hashes(), PrefixCache.blockHashes("m", text("a", "b"), BLOCK));
    }
}
