package io.epp4j.epp.kvevents;

import io.epp4j.scorers.prefix.EndpointIds;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Which pod holds which prefix block, from the pods' KV events: entries (request key, pod, tier), each remembering
 * the engine's block hash it came from so that a {@code BlockRemoved} (which carries no tokens) finds it, and so
 * that a {@code BlockStored}'s parent hash resolves to the key to chain from.
 *
 * <p>Bounded: at most {@code capacity} entries; beyond that the CLOCK hand evicts entries not used (stored or
 * matched) since its last pass. Storage is four longs per entry (key, engine hash or speculative deadline, the two
 * chain links, pod and flags) plus two int bucket heads: about 40 bytes per entry, no object per entry.
 * Thread-safe: lookups share a read lock, event batches take the write lock once per batch.
 *
 * <p>Event semantics (llm-d's): keys come from the event's token ids chained from the parent block's key, or from
 * the root of the model (the LoRA name for adapter blocks) when there is no parent; a stored span whose parent is
 * unknown here is dropped and counted, as its keys cannot be computed; blocks of sliding-window or other
 * non-full-attention groups are skipped; a BlockStored without tokens adds a tier (offload) to blocks already
 * known; BlockRemoved removes the pod's entry of that tier; AllBlocksCleared removes all of the pod's entries.
 * The engine's block size must be a multiple of the index's {@code blockSizeTokens}.
 */
public final class KvBlockIndex implements KvEventSink {

    static final int MAX_PODS = 1 << 16;
    private static final int NIL = -1;
    /** Blocks a lookup hashes and looks up at a time. */
    private static final int CHUNK = 64;
    private static final int F_LIVE = 1;
    private static final int F_SPEC = 2;
    private static final int F_LAST = 4;
    private static final int F_REF = 8;
    private static final int TIER_SHIFT = 4; // bits 4-6; flags bit 7 unused
    private static final int TIER_MASK = 0x7;
    private static final Set<String> INDEXED_KINDS = Set.of("full_attention", "mla_attention", "sink_full_attention");

    /** A tier's name (lower-case {@code medium}) and its score weight; tier 0 is the default for a nil medium. */
    public record Tier(String name, double weight) {
    }

    private final int capacity;
    private final int blockSize;
    private final List<Tier> tiers;
    private final double[] tierWeights;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final EndpointIds podIds = new EndpointIds(MAX_PODS);
    private int[] podSizes = new int[16];

    /** Per entry e: data[4e] key, [4e+1] engine hash (speculative: deadline nanos), [4e+2] links, [4e+3] meta. */
    private long[] data;
    private int allocated;
    private int freeHead = NIL;
    private int size;
    private int hand;
    private int[] keyBuckets;
    private int[] engineBuckets;

    // speculative entries in insertion order (deadlines grow), as (slot, key) pairs
    private long[] specRing = new long[1024];
    private int specHead;
    private int specCount;

    private final LongAdder parentUnknown = new LongAdder();
    private final LongAdder unsupported = new LongAdder();
    private final LongAdder evictions = new LongAdder();

    /**
     * @param capacity the most (block, pod, tier) entries held
     * @param blockSizeTokens tokens per request key
     * @param tiers the tiers' names and weights ({@code gpu} first), e.g. llm-d's gpu 1.0, cpu 0.8; a medium not
     *     listed counts 1.0
     */
    public KvBlockIndex(int capacity, int blockSizeTokens, List<Tier> tiers) {
        if (capacity <= 0 || blockSizeTokens <= 0) {
            throw new IllegalArgumentException("capacity and blockSizeTokens must be > 0");
        }
        if (tiers.isEmpty() || tiers.size() > TIER_MASK) {
            throw new IllegalArgumentException("between 1 and " + TIER_MASK + " tiers, got " + tiers.size());
        }
        this.capacity = capacity;
        this.blockSize = blockSizeTokens;
        this.tiers = List.copyOf(tiers);
        this.tierWeights = new double[TIER_MASK + 1];
        Arrays.fill(tierWeights, 1.0);
        for (int i = 0; i < tiers.size(); i++) {
            tierWeights[i] = tiers.get(i).weight();
        }
        int initial = Math.min(capacity, 1 << 12);
        data = new long[initial * 4];
        int buckets = bucketsFor(initial);
        keyBuckets = filled(buckets);
        engineBuckets = filled(buckets);
    }

    public int blockSizeTokens() {
        return blockSize;
    }

    public int capacity() {
        return capacity;
    }

    /** Entries held. */
    public int size() {
        lock.readLock().lock();
        try {
            return size;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Entries held for one pod. */
    public int sizeOf(String pod) {
        lock.readLock().lock();
        try {
            int id = podIds.idOf(pod);
            return id < 0 ? 0 : podSizes[id];
        } finally {
            lock.readLock().unlock();
        }
    }

    /** BlockStored spans dropped because their parent block was not in the index. */
    public long parentUnknownTotal() {
        return parentUnknown.sum();
    }

    /** Events skipped: a block size the index cannot split, or a non-full-attention group. */
    public long unsupportedTotal() {
        return unsupported.sum();
    }

    /** Entries evicted to stay within capacity. */
    public long evictionsTotal() {
        return evictions.sum();
    }

    // ---------------------------------------------------------------------------------------------- ingestion

    @Override
    public void apply(String pod, String model, List<KvEvent> events) {
        if (events.isEmpty()) {
            return;
        }
        lock.writeLock().lock();
        try {
            int podId = podId(pod);
            if (podId < 0) {
                unsupported.add(events.size());
                return;
            }
            for (KvEvent e : events) {
                if (e instanceof KvEvent.BlockStored s) {
                    stored(podId, model, s);
                } else if (e instanceof KvEvent.BlockRemoved r) {
                    removed(podId, r);
                } else {
                    clearPod(podId);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void stored(int pod, String model, KvEvent.BlockStored s) {
        if (s.specKind() != null && !INDEXED_KINDS.contains(s.specKind())) {
            unsupported.increment();
            return;
        }
        int tier = tierOf(s.medium());
        long[] hashes = s.blockHashes();
        int[] tokens = s.tokenIds();
        if (tokens.length == 0) {
            // a tier update: blocks already known on another tier
            for (long h : hashes) {
                for (int e = engineBuckets[engineBucket(h, pod)]; e != NIL; e = engineNext(e)) {
                    if (data[4 * e + 1] == h && podOf(e) == pod && (flags(e) & F_LAST) != 0) {
                        insert(data[4 * e], pod, h, tier, F_LAST);
                        break;
                    }
                }
            }
            return;
        }
        int engineBlock = s.blockSize();
        if (engineBlock < blockSize || engineBlock % blockSize != 0) {
            unsupported.increment();
            return;
        }
        long parentKey;
        if (s.hasParent()) {
            parentKey = keyOfEngineBlock(pod, s.parentHash());
            if (parentKey == 0) {
                parentUnknown.increment();
                return;
            }
        } else {
            parentKey = RequestKeys.root(s.loraName() != null ? s.loraName() : model);
        }
        int per = engineBlock / blockSize;
        for (int b = 0; b < hashes.length; b++) {
            for (int k = 0; k < per; k++) {
                parentKey = RequestKeys.next(parentKey, tokens, (b * per + k) * blockSize, blockSize);
                insert(parentKey, pod, hashes[b], tier, k == per - 1 ? F_LAST : 0);
            }
        }
    }

    /** The key of the last sub-block of an engine block this pod announced, or 0. */
    private long keyOfEngineBlock(int pod, long engineHash) {
        for (int e = engineBuckets[engineBucket(engineHash, pod)]; e != NIL; e = engineNext(e)) {
            if (data[4 * e + 1] == engineHash && podOf(e) == pod && (flags(e) & F_LAST) != 0) {
                return data[4 * e];
            }
        }
        return 0;
    }

    private void removed(int pod, KvEvent.BlockRemoved r) {
        int tier = tierOf(r.medium());
        for (long h : r.blockHashes()) {
            int e = engineBuckets[engineBucket(h, pod)];
            while (e != NIL) {
                int next = engineNext(e);
                if (data[4 * e + 1] == h && podOf(e) == pod && tierOf(e) == tier) {
                    remove(e);
                }
                e = next;
            }
        }
    }

    private void insert(long key, int pod, long engineHash, int tier, int extraFlags) {
        int kb = keyBucket(key);
        for (int e = keyBuckets[kb]; e != NIL; e = keyNext(e)) {
            if (data[4 * e] == key && podOf(e) == pod && tierOf(e) == tier) {
                setRef(e);
                if ((flags(e) & F_SPEC) != 0) {
                    setMeta(e, pod, F_LIVE | extraFlags | tier << TIER_SHIFT);
                    data[4 * e + 1] = engineHash;
                    linkEngine(e);
                } else if (data[4 * e + 1] != engineHash) {
                    unlinkEngine(e);
                    data[4 * e + 1] = engineHash;
                    linkEngine(e);
                }
                return;
            }
        }
        int e = allocate();
        data[4 * e] = key;
        data[4 * e + 1] = engineHash;
        setMeta(e, pod, F_LIVE | extraFlags | tier << TIER_SHIFT);
        linkKey(e);
        linkEngine(e);
        podSizes[pod]++;
        size++;
    }

    /**
     * Adds entries, not yet confirmed by events, for blocks a request was just routed with: they count like GPU
     * blocks until {@code deadlineNanos} (on the caller's ticker), when {@link #expireSpeculative} removes those a
     * BlockStored has not confirmed meanwhile.
     */
    public void addSpeculative(String pod, long[] keys, int count, long deadlineNanos) {
        lock.writeLock().lock();
        try {
            int podId = podId(pod);
            if (podId < 0) {
                return;
            }
            for (int i = 0; i < count; i++) {
                long key = keys[i];
                boolean known = false;
                for (int e = keyBuckets[keyBucket(key)]; e != NIL; e = keyNext(e)) {
                    if (data[4 * e] == key && podOf(e) == podId) {
                        known = true;
                        setRef(e);
                        break;
                    }
                }
                if (known) {
                    continue;
                }
                int e = allocate();
                data[4 * e] = key;
                data[4 * e + 1] = deadlineNanos;
                setMeta(e, podId, F_LIVE | F_SPEC);
                setRef(e);
                linkKey(e);
                podSizes[podId]++;
                size++;
                pushSpeculative(e, key);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Removes speculative entries whose deadline is at or before {@code nowNanos}. */
    public void expireSpeculative(long nowNanos) {
        if (specCount == 0) {
            return;
        }
        lock.writeLock().lock();
        try {
            while (specCount > 0) {
                int slot = (int) specRing[2 * specHead];
                long key = specRing[2 * specHead + 1];
                boolean stillSpec = slot < allocated && data[4 * slot] == key
                        && (flags(slot) & (F_LIVE | F_SPEC)) == (F_LIVE | F_SPEC);
                if (stillSpec && data[4 * slot + 1] - nowNanos > 0) {
                    break;
                }
                if (stillSpec) {
                    remove(slot);
                }
                specHead = (specHead + 1) % (specRing.length / 2);
                specCount--;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void pushSpeculative(int slot, long key) {
        int cap = specRing.length / 2;
        if (specCount == cap) {
            long[] grown = new long[specRing.length * 2];
            for (int i = 0; i < specCount; i++) {
                int from = (specHead + i) % cap;
                grown[2 * i] = specRing[2 * from];
                grown[2 * i + 1] = specRing[2 * from + 1];
            }
            specRing = grown;
            specHead = 0;
            cap = specRing.length / 2;
        }
        int at = (specHead + specCount) % cap;
        specRing[2 * at] = slot;
        specRing[2 * at + 1] = key;
        specCount++;
    }

    /** Forgets everything a pod holds (AllBlocksCleared, a sequence reset, or the pod left the pool). */
    public void clear(String pod) {
        lock.writeLock().lock();
        try {
            int id = podIds.idOf(pod);
            if (id >= 0) {
                clearPod(id);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Forgets a pod and frees its id. */
    public void removePod(String pod) {
        lock.writeLock().lock();
        try {
            int id = podIds.remove(pod);
            if (id >= 0) {
                clearPod(id);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void clearPod(int pod) {
        if (podSizes[pod] == 0) {
            return;
        }
        for (int e = 0; e < allocated && podSizes[pod] > 0; e++) {
            if ((flags(e) & F_LIVE) != 0 && podOf(e) == pod) {
                remove(e);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- lookup

    /** The per-pod result of one lookup; pods are looked up by name. */
    public final class Match {
        private final int blocks;
        private final int[] matched;
        private final double[] weighted;

        Match(int blocks, int[] matched, double[] weighted) {
            this.blocks = blocks;
            this.matched = matched;
            this.weighted = weighted;
        }

        /** The request's blocks, whether the lookup reached them or stopped before. */
        public int blocks() {
            return blocks;
        }

        /** Consecutive blocks from the first that {@code pod} holds (0 when unknown). */
        public int matchedBlocks(String pod) {
            int id = podIds.idOf(pod);
            return id < 0 || id >= matched.length ? 0 : matched[id];
        }

        /** The same run with each block counted at the weight of the best tier the pod holds it in. */
        public double weightedBlocks(String pod) {
            int id = podIds.idOf(pod);
            return id < 0 || id >= weighted.length ? 0 : weighted[id];
        }
    }

    /**
     * For each pod, the longest run of {@code keys[0..count)} it holds, from the first key, stopping at the first
     * key no pod still in the run holds (llm-d's longest-prefix scoring).
     */
    public Match match(long[] keys, int count) {
        int[] heads = new int[Math.min(count, CHUNK)];
        lock.readLock().lock();
        try {
            Run run = new Run(podIds.bound());
            for (int from = 0; from < count; from += CHUNK) {
                if (!run.advance(from, keys, from, Math.min(CHUNK, count - from), heads)) {
                    break;
                }
            }
            return new Match(count, run.matched, run.weighted);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The same as {@link #match(long[], int)} on {@code RequestKeys.keys(root, tokens, tokenCount, blockSizeTokens(),
     * maxBlocks)}, hashing the blocks {@value #CHUNK} at a time as the run reaches them: a prompt whose blocks no
     * pod holds beyond its first few costs a chunk of hashes, not one per block. {@link Match#blocks()} counts all
     * the prompt's blocks.
     */
    public Match match(long root, int[] tokens, int tokenCount, int maxBlocks) {
        int count = Math.max(0, Math.min(tokenCount / blockSize, maxBlocks));
        long[] keys = new long[Math.min(count, CHUNK)];
        int[] heads = new int[keys.length];
        lock.readLock().lock();
        try {
            Run run = new Run(podIds.bound());
            long parent = root;
            for (int from = 0; from < count; from += CHUNK) {
                int n = Math.min(CHUNK, count - from);
                for (int j = 0; j < n; j++) {
                    parent = RequestKeys.next(parent, tokens, (from + j) * blockSize, blockSize);
                    keys[j] = parent;
                }
                if (!run.advance(from, keys, 0, n, heads)) {
                    break;
                }
            }
            return new Match(count, run.matched, run.weighted);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** One lookup's progress: per pod id, the blocks matched so far, their weight, and the last block's weight. */
    private final class Run {
        final int[] matched;
        final double[] weighted;
        final double[] last;

        Run(int pods) {
            matched = new int[pods];
            weighted = new double[pods];
            last = new double[pods];
        }

        /**
         * Extends the runs with blocks {@code first .. first+n) whose keys are {@code keys[offset ..]}; false when a
         * block extended none. The chunk's bucket heads are read first, in a loop of independent loads the CPU
         * overlaps, as it does the entries' loads after them: the index is far larger than the caches, and a lookup
         * that waits for one miss before the next costs several times more.
         */
        boolean advance(int first, long[] keys, int offset, int n, int[] heads) {
            for (int j = 0; j < n; j++) {
                heads[j] = keyBuckets[keyBucket(keys[offset + j])];
            }
            for (int j = 0; j < n; j++) {
                if (!advance(first + j, keys[offset + j], heads[j])) {
                    return false;
                }
            }
            return true;
        }

        private boolean advance(int i, long key, int head) {
            boolean advanced = false;
            for (int e = head; e != NIL; e = keyNext(e)) {
                if (data[4 * e] != key) {
                    continue;
                }
                int pod = podOf(e);
                double w = tierWeights[tierOf(e)];
                if (matched[pod] == i) {
                    matched[pod] = i + 1;
                    weighted[pod] += w;
                    last[pod] = w;
                    advanced = true;
                    setRef(e);
                } else if (matched[pod] == i + 1 && w > last[pod]) {
                    weighted[pod] += w - last[pod];
                    last[pod] = w;
                }
            }
            return advanced;
        }
    }

    // ---------------------------------------------------------------------------------------------- storage

    private int podId(String pod) {
        int id = podIds.idOf(pod);
        if (id < 0) {
            id = podIds.add(pod);
            if (id < 0) {
                return -1; // MAX_PODS in use
            }
            if (id >= podSizes.length) {
                podSizes = Arrays.copyOf(podSizes, podSizes.length * 2);
            }
            podSizes[id] = 0;
        }
        return id;
    }

    private int tierOf(String medium) {
        if (medium == null) {
            return 0;
        }
        for (int i = 0; i < tiers.size(); i++) {
            if (tiers.get(i).name().equalsIgnoreCase(medium)) {
                return i;
            }
        }
        return TIER_MASK;
    }

    private int allocate() {
        if (freeHead != NIL) {
            int e = freeHead;
            freeHead = keyNext(e);
            return e;
        }
        if (allocated < capacity) {
            if (allocated * 4 == data.length) {
                grow();
            }
            return allocated++;
        }
        return evictOne();
    }

    private int evictOne() {
        while (true) {
            int e = hand;
            hand = hand + 1 == allocated ? 0 : hand + 1;
            if ((flags(e) & F_LIVE) == 0) {
                continue;
            }
            if ((flags(e) & F_REF) != 0) {
                data[4 * e + 3] &= ~F_REF;
                continue;
            }
            remove(e);
            evictions.increment();
            // remove() put e on the free list
            freeHead = keyNext(e);
            return e;
        }
    }

    private void grow() {
        int n = (int) Math.min(capacity, Math.max(16L, data.length / 2L));
        data = Arrays.copyOf(data, n * 4);
        int buckets = bucketsFor(n);
        if (buckets != keyBuckets.length) {
            keyBuckets = filled(buckets);
            engineBuckets = filled(buckets);
            for (int e = 0; e < allocated; e++) {
                if ((flags(e) & F_LIVE) != 0) {
                    linkKey(e);
                    if ((flags(e) & F_SPEC) == 0) {
                        linkEngine(e);
                    }
                }
            }
        }
    }

    private void remove(int e) {
        int kb = keyBucket(data[4 * e]);
        int prev = NIL;
        for (int c = keyBuckets[kb]; c != NIL; prev = c, c = keyNext(c)) {
            if (c == e) {
                if (prev == NIL) {
                    keyBuckets[kb] = keyNext(c);
                } else {
                    setKeyNext(prev, keyNext(c));
                }
                break;
            }
        }
        if ((flags(e) & F_SPEC) == 0) {
            unlinkEngine(e);
        }
        podSizes[podOf(e)]--;
        size--;
        setMeta(e, 0, 0);
        setKeyNext(e, freeHead);
        freeHead = e;
    }

    private void linkKey(int e) {
        int kb = keyBucket(data[4 * e]);
        setKeyNext(e, keyBuckets[kb]);
        keyBuckets[kb] = e;
    }

    private void linkEngine(int e) {
        int eb = engineBucket(data[4 * e + 1], podOf(e));
        setEngineNext(e, engineBuckets[eb]);
        engineBuckets[eb] = e;
    }

    private void unlinkEngine(int e) {
        int eb = engineBucket(data[4 * e + 1], podOf(e));
        int prev = NIL;
        for (int c = engineBuckets[eb]; c != NIL; prev = c, c = engineNext(c)) {
            if (c == e) {
                if (prev == NIL) {
                    engineBuckets[eb] = engineNext(c);
                } else {
                    setEngineNext(prev, engineNext(c));
                }
                return;
            }
        }
    }

    private int keyNext(int e) {
        return (int) (data[4 * e + 2] >> 32);
    }

    private int engineNext(int e) {
        return (int) data[4 * e + 2];
    }

    private void setKeyNext(int e, int next) {
        data[4 * e + 2] = ((long) next << 32) | (data[4 * e + 2] & 0xFFFFFFFFL);
    }

    private void setEngineNext(int e, int next) {
        data[4 * e + 2] = (data[4 * e + 2] & 0xFFFFFFFF00000000L) | (next & 0xFFFFFFFFL);
    }

    /**
     * Marks an entry used for the CLOCK hand. Also called under the read lock: concurrent readers may set the bit
     * at once, which is harmless since they write the same value and no writer runs meanwhile.
     */
    private void setRef(int e) {
        data[4 * e + 3] |= F_REF;
    }

    private int podOf(int e) {
        return (int) (data[4 * e + 3] >>> 16) & 0xFFFF;
    }

    private int flags(int e) {
        return (int) data[4 * e + 3] & 0xFF;
    }

    private int tierOf(int e) {
        return (flags(e) >>> TIER_SHIFT) & TIER_MASK;
    }

    private void setMeta(int e, int pod, int flags) {
        data[4 * e + 3] = ((long) pod << 16) | (flags & 0xFF);
    }

    private int keyBucket(long key) {
        return (int) (key ^ (key >>> 32)) & (keyBuckets.length - 1);
    }

    private int engineBucket(long hash, int pod) {
        long h = (hash ^ pod * 0x9E3779B97F4A7C15L) * 0xC2B2AE3D27D4EB4FL;
        return (int) (h >>> 32) & (engineBuckets.length - 1);
    }

    private static int bucketsFor(int entries) {
        return Integer.highestOneBit(Math.max(16, entries - 1)) << 1;
    }

    private static int[] filled(int n) {
        int[] a = new int[n];
        Arrays.fill(a, NIL);
        return a;
    }
}
