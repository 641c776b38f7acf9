package io.epp4j.epp.concurrent;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The last N values recorded, in a lock-free ring; older ones are overwritten. Recording costs one counter increment
 * and one array store, so a request path can afford it; readers see the values newest first. Values should be
 * immutable. Thread-safe.
 *
 * @param <T> the recorded values
 */
public final class Ring<T> {

    private final AtomicReferenceArray<T> slots;
    private final AtomicLong written = new AtomicLong();

    public Ring(int capacity) {
        this.slots = new AtomicReferenceArray<>(Math.max(0, capacity));
    }

    public void record(T value) {
        int capacity = slots.length();
        if (capacity > 0) {
            slots.set((int) (written.getAndIncrement() % capacity), value);
        }
    }

    /** How many values were recorded since the start (retained or not). */
    public long recorded() {
        return written.get();
    }

    /** At most {@code limit} retained values, newest first. */
    public List<T> recent(int limit) {
        int capacity = slots.length();
        long end = written.get();
        List<T> out = new ArrayList<>(Math.min(limit, capacity));
        for (long i = end - 1; i >= 0 && i >= end - capacity && out.size() < limit; i--) {
            T v = slots.get((int) (i % capacity));
            if (v != null) {
                out.add(v);
            }
        }
        return out;
    }
}
