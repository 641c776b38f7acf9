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

    /** A newly computed prompt block, referenced once (call after {@link #reserve}). */
    void store(long hash);

    /** {@code n} blocks that belong to one request and are never shared (call after {@link #reserve}). */
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
     * A copy-on-write view of a {@link PrefixCache} that must not change while the view is used: reads fall
     * through to it, changes are kept here. Evictions are counted, not chosen, so a block the real cache would
     * have evicted may still be found by a later lookup: a what-if on an overlay is slightly optimistic.
     */
    final class Overlay implements KvCache {
        private final PrefixCache base;
        private final java.util.HashMap<Long, Integer> refDelta = new java.util.HashMap<>();
        private final java.util.HashSet<Long> added = new java.util.HashSet<>();
        private int referencedDelta;
        private int residentDelta;
        private int evictableDelta;
        private int anonymousDelta;

        Overlay(PrefixCache base) {
            this.base = base;
        }

        private boolean resident(long hash) {
            return added.contains(hash) || base.isResident(hash);
        }

        private int refs(long hash) {
            return base.refs(hash) + refDelta.getOrDefault(hash, 0);
        }

        /** A reference on a resident block; an unreferenced one leaves the evictable set. */
        private void addRef(long hash) {
            if (refs(hash) == 0) {
                referencedDelta++;
                evictableDelta--;
            }
            refDelta.merge(hash, 1, Integer::sum);
        }

        @Override
        public int cachedPrefix(long[] hashes) {
            int n = 0;
            while (n < hashes.length && resident(hashes[n])) {
                n++;
            }
            return n;
        }

        @Override
        public void pin(long[] hashes, int n) {
            for (int i = 0; i < n; i++) {
                addRef(hashes[i]);
            }
        }

        private int free() {
            return base.totalBlocks() - (base.residentBlocks() + residentDelta) - (base.anonymousBlocks()
                    + anonymousDelta);
        }

        private int evictable() {
            return base.evictableBlocks() + evictableDelta;
        }

        @Override
        public boolean reserve(int blocks) {
            int missing = blocks - free();
            if (missing <= 0) {
                return true;
            }
            if (missing > evictable()) {
                return false;
            }
            residentDelta -= missing; // evicted, which ones is not tracked
            evictableDelta -= missing;
            return true;
        }

        @Override
        public void store(long hash) {
            if (!resident(hash)) {
                added.add(hash);
                residentDelta++;
                referencedDelta++;
                refDelta.merge(hash, 1, Integer::sum);
            } else {
                addRef(hash);
            }
        }

        @Override
        public void addAnonymous(int n) {
            anonymousDelta += n;
        }

        @Override
        public void release(long[] hashes, int n, int anonymous) {
            anonymousDelta -= anonymous;
            for (int i = n - 1; i >= 0; i--) {
                if (refs(hashes[i]) <= 0) {
                    continue;
                }
                refDelta.merge(hashes[i], -1, Integer::sum);
                if (refs(hashes[i]) == 0) {
                    referencedDelta--;
                    evictableDelta++;
                }
            }
        }

        @Override
        public int usedBlocks() {
            return base.usedBlocks() + referencedDelta + anonymousDelta;
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
