package io.epp4j.bench.sim;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A paged KV cache with automatic prefix caching, shaped like vLLM's block manager.
 *
 * <p>Full prompt blocks are identified by chained hashes (a block's hash covers every token before it), so a
 * hit is always a leading run of blocks. Blocks of running requests are reference-counted; a released block
 * stays cached until its space is needed, and unreferenced blocks are evicted least-recently-used first, a
 * request's tail blocks before its head (vLLM frees them in reverse order for the same reason). Decode tokens
 * and a prompt's partial last block take anonymous blocks that are never shared.
 *
 * <p>A {@link Listener} hears what vLLM's block pool announces as KV-cache events: a block that became resident,
 * an evicted block, and a cache emptied by a reset.
 *
 * <p>Not thread-safe: an engine calls it under its own lock.
 */
final class PrefixCache implements KvCache {

    private static final class Block {
        int refs;
    }

    /** What the cache announces, called under the engine's lock; vLLM's block pool emits the same events. */
    interface Listener {
        /** Block {@code index} of {@code seq}'s prompt became resident. */
        void stored(Seq seq, int index);

        /** A resident block was evicted or dropped. */
        void removed(long hash);

        /** Every resident block was dropped (nothing is resident now). */
        void cleared();
    }

    private static final Listener SILENT = new Listener() {
        @Override
        public void stored(Seq seq, int index) {
        }

        @Override
        public void removed(long hash) {
        }

        @Override
        public void cleared() {
        }
    };

    private final int totalBlocks;
    private Listener listener = SILENT;
    private final Map<Long, Block> resident = new HashMap<>();
    /** Unreferenced resident blocks in eviction order (eldest first). */
    private final LinkedHashMap<Long, Block> evictable = new LinkedHashMap<>();
    private int anonymousBlocks;
    private int referencedBlocks;

    PrefixCache(int totalBlocks) {
        this.totalBlocks = totalBlocks;
    }

    void listener(Listener listener) {
        this.listener = listener == null ? SILENT : listener;
    }

    /** What one running request holds. */
    record Allocation(long[] hashes, int cachedBlocks, int anonymousBlocks) {
    }

    /**
     * Chained block hashes of {@code prompt} for {@code modelKey}: one per full block of
     * {@code blockSize} tokens at {@link SimConfig#CHARS_PER_TOKEN} characters per token.
     */
    static long[] blockHashes(String modelKey, String prompt, int blockSize) {
        // a decision hashes the same prompt once per pod it considers: remember the last one per thread
        Memo m = MEMO.get();
        if (m.prompt == prompt && m.modelKey.equals(modelKey) && m.blockSize == blockSize) {
            return m.hashes;
        }
        long[] hashes = computeBlockHashes(modelKey, prompt, blockSize);
        m.prompt = prompt;
        m.modelKey = modelKey;
        m.blockSize = blockSize;
        m.hashes = hashes;
        return hashes;
    }

    private static final class Memo {
        String prompt;
        String modelKey = "";
        int blockSize;
        long[] hashes;
    }

    private static final ThreadLocal<Memo> MEMO = ThreadLocal.withInitial(Memo::new);

    private static long[] computeBlockHashes(String modelKey, String prompt, int blockSize) {
        int blockChars = blockSize * SimConfig.CHARS_PER_TOKEN;
        int blocks = prompt.length() / blockChars;
        long[] hashes = new long[blocks];
        long h = fnv(0xcbf29ce484222325L, modelKey.getBytes(StandardCharsets.UTF_8));
        for (int b = 0; b < blocks; b++) {
            for (int i = b * blockChars, end = i + blockChars; i < end; i++) {
                h ^= prompt.charAt(i);
                h *= 0x100000001b3L;
            }
            h = mix(h);
            hashes[b] = h;
        }
        return hashes;
    }

    private static long fnv(long h, byte[] bytes) {
        for (byte b : bytes) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    private void evictEldest() {
        Iterator<Map.Entry<Long, Block>> eldest = evictable.entrySet().iterator();
        Map.Entry<Long, Block> victim = eldest.next();
        eldest.remove();
        resident.remove(victim.getKey());
        listener.removed(victim.getKey());
    }

    /** Leading blocks of {@code hashes} already resident, without touching the LRU order. */
    @Override
    public int cachedPrefix(long[] hashes) {
        int n = 0;
        while (n < hashes.length && resident.containsKey(hashes[n])) {
            n++;
        }
        return n;
    }

    /**
     * Pins the cached prefix of {@code hashes}, stores the rest and reserves {@code extraBlocks} anonymous
     * blocks, evicting unreferenced blocks as needed. (A test helper: the listener hears its evictions only.)
     *
     * @return the allocation, or null when even after eviction there is not enough free space (nothing changes)
     */
    Allocation allocate(long[] hashes, int extraBlocks) {
        int hits = cachedPrefix(hashes);
        int needed = (hashes.length - hits) + extraBlocks;
        int pinnedFromEvictable = 0;
        for (int i = 0; i < hits; i++) {
            if (resident.get(hashes[i]).refs == 0) {
                pinnedFromEvictable++;
            }
        }
        if (needed > free() + evictable.size() - pinnedFromEvictable) {
            return null;
        }
        for (int i = 0; i < hits; i++) {
            Block b = resident.get(hashes[i]);
            if (b.refs++ == 0) {
                evictable.remove(hashes[i]);
                referencedBlocks++;
            }
        }
        int newBlocks = hashes.length - hits;
        while (free() < needed) {
            evictEldest();
        }
        for (int i = hits; i < hashes.length; i++) {
            Block b = new Block();
            b.refs = 1;
            // A chain can repeat a hash only on a 64-bit collision; keep the first block in that case.
            if (resident.putIfAbsent(hashes[i], b) == null) {
                referencedBlocks++;
            } else {
                resident.get(hashes[i]).refs++;
            }
        }
        anonymousBlocks += extraBlocks;
        return new Allocation(hashes, hits, extraBlocks);
    }

    /** Unpins a request's blocks; they stay cached (tail first in eviction order) until space is needed. */
    void release(Allocation allocation) {
        release(allocation.hashes(), allocation.hashes().length, allocation.anonymousBlocks());
    }

    @Override
    public void pin(long[] hashes, int n) {
        for (int i = 0; i < n; i++) {
            Block b = resident.get(hashes[i]);
            if (b.refs++ == 0) {
                evictable.remove(hashes[i]);
                referencedBlocks++;
            }
        }
    }

    @Override
    public boolean reserve(int blocks) {
        if (blocks > free() + evictable.size()) {
            return false;
        }
        while (free() < blocks) {
            evictEldest();
        }
        return true;
    }

    @Override
    public void store(Seq seq, int index) {
        long hash = seq.hashes[index];
        Block b = resident.get(hash);
        if (b == null) {
            b = new Block();
            resident.put(hash, b);
            listener.stored(seq, index);
        } else if (b.refs == 0) {
            evictable.remove(hash); // computed again while it sat unreferenced: take it back
        }
        if (b.refs++ == 0) {
            referencedBlocks++;
        }
    }

    @Override
    public void addAnonymous(int n) {
        anonymousBlocks += n;
    }

    @Override
    public void release(long[] hashes, int n, int anonymous) {
        anonymousBlocks -= anonymous;
        for (int i = n - 1; i >= 0; i--) {
            Block b = resident.get(hashes[i]);
            if (b != null && --b.refs == 0) {
                referencedBlocks--;
                evictable.put(hashes[i], b);
            }
        }
    }

    /** References on the block {@code hash} (0 when it is not resident or unreferenced). */
    int refs(long hash) {
        Block b = resident.get(hash);
        return b == null ? 0 : b.refs;
    }

    boolean isResident(long hash) {
        return resident.containsKey(hash);
    }

    int evictableBlocks() {
        return evictable.size();
    }

    int anonymousBlocks() {
        return anonymousBlocks;
    }

    /** Blocks neither resident nor reserved. */
    int free() {
        return totalBlocks - resident.size() - anonymousBlocks;
    }

    /** Blocks held by running requests, the numerator of vLLM's {@code kv_cache_usage_perc}. */
    @Override
    public int usedBlocks() {
        return referencedBlocks + anonymousBlocks;
    }

    @Override
    public int residentBlocks() {
        return resident.size();
    }

    @Override
    public int totalBlocks() {
        return totalBlocks;
    }

    /**
     * Drops every unreferenced block (vLLM's reset_prefix_cache): announced as one clear when nothing stays resident,
     * else block by block.
     */
    @Override
    public void clearUnreferenced() {
        boolean all = evictable.size() == resident.size();
        for (Long h : evictable.keySet()) {
            resident.remove(h);
            if (!all) {
                listener.removed(h);
            }
        }
        evictable.clear();
        if (all) {
            listener.cleared();
        }
    }
}
