package io.epp4j.bench.sim;

/**
 * The KV-cache operations an engine model needs, block by block: prefix lookup, references on cached blocks,
 * room for new blocks (evicting unreferenced ones), newly computed prompt blocks, anonymous blocks (output
 * tokens, a prompt's partial last block) and release. {@link PrefixCache} is the real one; {@link Overlay} lets
 * a what-if simulation run on top of a real cache without changing it.
 */
interface KvCache {

    /** Leading blocks of {@code hashes} that are resident. */
    int cachedPrefix(long[] hashes);

    /** Takes a reference on each of the first {@code n} blocks of {@code hashes}, which must be resident. */
    void pin(long[] hashes, int n);

    /** Makes room for {@code blocks} new blocks, evicting unreferenced ones; false (nothing changes) if it can't. */
    boolean reserve(int blocks);

    /** Block {@code index} of {@code seq}'s prompt, newly computed, referenced once (call after {@link #reserve}). */
    void store(Seq seq, int index);

    /**
     * {@code n} blocks that belong to one request and are never shared (call after {@link #reserve}); a negative
     * {@code n} gives them back.
     */
    void addAnonymous(int n);

    /** Drops one reference on each of the first {@code n} blocks (last first) and frees anonymous blocks. */
    void release(long[] hashes, int n, int anonymous);

    /** Blocks referenced by running requests, the numerator of vLLM's {@code kv_cache_usage_perc}. */
    int usedBlocks();

    int residentBlocks();

    int totalBlocks();

    /** Drops every unreferenced block (vLLM's reset_prefix_cache). */
    void clearUnreferenced();

    /**
     * A what-if view of a {@link PrefixCache} that must not change while the view is used: lookups read it, and the
     * view only counts blocks. A request's cached prefix counts as already in use when its first block is referenced
     * (a prefix shared with running requests) and as newly used otherwise; blocks computed in the what-if are counted
     * but not looked up; evictions are counted, not chosen. Every operation is O(1) but a lookup, so a what-if of long
     * prompts stays cheap; it is approximate, which a reference may be.
     */
    final class Overlay implements KvCache {
        private final PrefixCache base;
        /** Per request (by its hash array): blocks this view counted as used, released together. */
        private final java.util.IdentityHashMap<long[], int[]> counted = new java.util.IdentityHashMap<>();
        private int usedDelta;
        private int residentDelta;
        private int evictableDelta;
        private int anonymousDelta;

        Overlay(PrefixCache base) {
            this.base = base;
        }

        @Override
        public int cachedPrefix(long[] hashes) {
            return base.cachedPrefix(hashes);
        }

        @Override
        public void pin(long[] hashes, int n) {
            if (n > 0 && base.refs(hashes[0]) == 0) {
                usedDelta += n; // an unreferenced prefix: its blocks leave the evictable set
                evictableDelta -= n;
                counted.computeIfAbsent(hashes, k -> new int[1])[0] += n;
            }
        }

        private int free() {
            return base.totalBlocks() - (base.residentBlocks() + residentDelta) - (base.anonymousBlocks()
                    + anonymousDelta);
        }

        @Override
        public boolean reserve(int blocks) {
            int missing = blocks - free();
            if (missing <= 0) {
                return true;
            }
            if (missing > base.evictableBlocks() + evictableDelta) {
                return false;
            }
            residentDelta -= missing;
            evictableDelta -= missing;
            return true;
        }

        @Override
        public void store(Seq seq, int index) {
            residentDelta++;
            usedDelta++;
            counted.computeIfAbsent(seq.hashes, k -> new int[1])[0]++;
        }

        @Override
        public void addAnonymous(int n) {
            anonymousDelta += n;
        }

        @Override
        public void release(long[] hashes, int n, int anonymous) {
            anonymousDelta -= anonymous;
            int[] c = counted.remove(hashes);
            if (c != null) {
                usedDelta -= c[0];
                evictableDelta += c[0];
            }
        }

        @Override
        public int usedBlocks() {
            return base.usedBlocks() + usedDelta + anonymousDelta;
        }

        @Override
        public int residentBlocks() {
            return base.residentBlocks() + residentDelta;
        }

        @Override
        public int totalBlocks() {
            return base.totalBlocks();
        }

        @Override
        public void clearUnreferenced() {
            throw new UnsupportedOperationException("a what-if view is not reset");
        }
    }
}
