package io.epp4j.scorers.prefix;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Which endpoints probably hold which prefix blocks: a per-endpoint LRU of block hashes plus the reverse lookup
 * hash → endpoints, in one primitive open table.
 *
 * <p>Each (block, endpoint) entry lives in parallel primitive arrays (hash, endpoint id, LRU links, bucket chain):
 * 24 bytes plus its share of the bucket array, no object per entry. Entries with the same hash share a bucket chain,
 * so "which endpoints hold h" is one chain walk. Thread-safe: lookups share a read lock, inserts and evictions take
 * the write lock.
 */
public final class PrefixIndex {

    private static final int NIL = -1;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final EndpointIds endpointIds = new EndpointIds(Integer.MAX_VALUE);

    // per entry
    private long[] hashes;
    private int[] owners;
    private int[] lruPrev;
    private int[] lruNext;
    private int[] chainNext; // also links the free list
    private int allocated;
    private int freeHead = NIL;
    private int size;

    // per bucket
    private int[] buckets;
    private int bucketMask;

    // per endpoint
    private int[] lruHead = new int[16];
    private int[] lruTail = new int[16];
    private int[] lruSize = new int[16];

    public PrefixIndex() {
        this(1024);
    }

    public PrefixIndex(int initialEntries) {
        int cap = Math.max(16, initialEntries);
        hashes = new long[cap];
        owners = new int[cap];
        lruPrev = new int[cap];
        lruNext = new int[cap];
        chainNext = new int[cap];
        int b = Integer.highestOneBit(cap - 1) << 1;
        buckets = new int[b];
        Arrays.fill(buckets, NIL);
        bucketMask = b - 1;
    }

    /** The id of a known endpoint, or -1. Lock-free. */
    public int idOf(String endpoint) {
        return endpointIds.idOf(endpoint);
    }

    /** Number of endpoint ids ever handed out (upper bound for per-id arrays). */
    public int endpointIdBound() {
        return endpointIds.bound();
    }

    /** Total (block, endpoint) entries. */
    public int size() {
        lock.readLock().lock();
        try {
            return size;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Counts, for each endpoint id, in how many of the leading hashes it appears, walking {@code blockHashes} from
     * the start and stopping at the first hash no endpoint holds (GAIE's match). Returns the per-id counts (length
     * {@link #endpointIdBound()} at call time).
     */
    public int[] match(long[] blockHashes, int count) {
        lock.readLock().lock();
        try {
            int[] matches = new int[endpointIds.bound()];
            for (int i = 0; i < count; i++) {
                long h = blockHashes[i];
                boolean any = false;
                for (int e = buckets[bucket(h)]; e != NIL; e = chainNext[e]) {
                    if (hashes[e] == h) {
                        matches[owners[e]]++;
                        any = true;
                    }
                }
                if (!any) {
                    break;
                }
            }
            return matches;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Records that {@code endpoint} now holds these blocks (most recent last), evicting beyond {@code capacity}. */
    public void add(String endpoint, long[] blockHashes, int count, int capacity) {
        if (count == 0 || capacity <= 0) {
            return;
        }
        lock.writeLock().lock();
        try {
            int owner = endpointId(endpoint);
            for (int i = 0; i < count; i++) {
                long h = blockHashes[i];
                int existing = find(h, owner);
                if (existing != NIL) {
                    lruUnlink(existing);
                    lruPushFront(existing);
                    continue;
                }
                int e = allocate();
                hashes[e] = h;
                owners[e] = owner;
                int b = bucket(h);
                chainNext[e] = buckets[b];
                buckets[b] = e;
                lruPushFront(e);
                size++;
                while (lruSize[owner] > capacity) {
                    remove(lruTail[owner]);
                }
            }
            if (size > (bucketMask + 1) - ((bucketMask + 1) >>> 2)) {
                rehash((bucketMask + 1) << 1);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Forgets an endpoint and all its blocks. */
    public void removeEndpoint(String endpoint) {
        lock.writeLock().lock();
        try {
            int id = endpointIds.remove(endpoint);
            if (id < 0) {
                return;
            }
            while (lruHead[id] != NIL) {
                remove(lruHead[id]);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Names of the endpoints currently indexed. */
    public java.util.Set<String> endpoints() {
        return endpointIds.endpoints();
    }

    /** Blocks held by one endpoint. */
    public int sizeOf(String endpoint) {
        lock.readLock().lock();
        try {
            int id = endpointIds.idOf(endpoint);
            return id < 0 ? 0 : lruSize[id];
        } finally {
            lock.readLock().unlock();
        }
    }

    private int endpointId(String endpoint) {
        int id = endpointIds.idOf(endpoint);
        if (id >= 0) {
            return id;
        }
        id = endpointIds.add(endpoint);
        if (id >= lruHead.length) {
            int n = lruHead.length * 2;
            lruHead = Arrays.copyOf(lruHead, n);
            lruTail = Arrays.copyOf(lruTail, n);
            lruSize = Arrays.copyOf(lruSize, n);
        }
        lruHead[id] = NIL;
        lruTail[id] = NIL;
        lruSize[id] = 0;
        return id;
    }

    private int find(long h, int owner) {
        for (int e = buckets[bucket(h)]; e != NIL; e = chainNext[e]) {
            if (hashes[e] == h && owners[e] == owner) {
                return e;
            }
        }
        return NIL;
    }

    private int allocate() {
        if (freeHead != NIL) {
            int e = freeHead;
            freeHead = chainNext[e];
            return e;
        }
        if (allocated == hashes.length) {
            int n = hashes.length + (hashes.length >>> 1);
            hashes = Arrays.copyOf(hashes, n);
            owners = Arrays.copyOf(owners, n);
            lruPrev = Arrays.copyOf(lruPrev, n);
            lruNext = Arrays.copyOf(lruNext, n);
            chainNext = Arrays.copyOf(chainNext, n);
        }
        return allocated++;
    }

    private void remove(int e) {
        int b = bucket(hashes[e]);
        int prev = NIL;
        for (int c = buckets[b]; c != NIL; prev = c, c = chainNext[c]) {
            if (c == e) {
                if (prev == NIL) {
                    buckets[b] = chainNext[c];
                } else {
                    chainNext[prev] = chainNext[c];
                }
                break;
            }
        }
        lruUnlink(e);
        chainNext[e] = freeHead;
        freeHead = e;
        size--;
    }

    private void lruPushFront(int e) {
        int owner = owners[e];
        int head = lruHead[owner];
        lruPrev[e] = NIL;
        lruNext[e] = head;
        if (head != NIL) {
            lruPrev[head] = e;
        } else {
            lruTail[owner] = e;
        }
        lruHead[owner] = e;
        lruSize[owner]++;
    }

    private void lruUnlink(int e) {
        int owner = owners[e];
        int p = lruPrev[e];
        int n = lruNext[e];
        if (p != NIL) {
            lruNext[p] = n;
        } else {
            lruHead[owner] = n;
        }
        if (n != NIL) {
            lruPrev[n] = p;
        } else {
            lruTail[owner] = p;
        }
        lruSize[owner]--;
    }

    private void rehash(int newBuckets) {
        buckets = new int[newBuckets];
        Arrays.fill(buckets, NIL);
        bucketMask = newBuckets - 1;
        // walk live entries through the LRU lists (the free list shares chainNext; a freed id's list is empty)
        for (int id = 0, bound = endpointIds.bound(); id < bound; id++) {
            for (int e = lruHead[id]; e != NIL; e = lruNext[e]) {
                int b = bucket(hashes[e]);
                chainNext[e] = buckets[b];
                buckets[b] = e;
            }
        }
    }

    private int bucket(long h) {
        long x = h ^ (h >>> 29) ^ (h >>> 47);
        return (int) x & bucketMask;
    }
}
