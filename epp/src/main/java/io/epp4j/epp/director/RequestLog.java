package io.epp4j.epp.director;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The last N requests as they ended, in a lock-free ring of immutable records; older ones are overwritten. Recording
 * costs one array store, so the request path can always afford it.
 */
public final class RequestLog {

    private final AtomicReferenceArray<RequestRecord> ring;
    private final AtomicLong written = new AtomicLong();

    public RequestLog(int capacity) {
        this.ring = new AtomicReferenceArray<>(Math.max(0, capacity));
    }

    void record(RequestRecord request) {
        int capacity = ring.length();
        if (capacity > 0) {
            ring.set((int) (written.getAndIncrement() % capacity), request);
        }
    }

    /** How many requests were recorded since the start (retained or not). */
    public long recorded() {
        return written.get();
    }

    /** At most {@code limit} retained requests, newest first. */
    public List<RequestRecord> recent(int limit) {
        int capacity = ring.length();
        long end = written.get();
        List<RequestRecord> out = new ArrayList<>();
        for (long i = end - 1; i >= 0 && i >= end - capacity && out.size() < limit; i--) {
            RequestRecord r = ring.get((int) (i % capacity));
            if (r != null) {
                out.add(r);
            }
        }
        return out;
    }
}
