package io.epp4j.epp.scheduling;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** The last N scheduling decisions, in a lock-free ring; older ones are overwritten. */
public final class DecisionLog {

    private final AtomicReferenceArray<Decision> ring;
    private final AtomicLong written = new AtomicLong();

    public DecisionLog(int capacity) {
        this.ring = new AtomicReferenceArray<>(Math.max(0, capacity));
    }

    void record(Decision decision) {
        int capacity = ring.length();
        if (capacity > 0) {
            ring.set((int) (written.getAndIncrement() % capacity), decision);
        }
    }

    /** The retained decisions, newest first. */
    public List<Decision> recent() {
        int capacity = ring.length();
        long end = written.get();
        List<Decision> out = new ArrayList<>();
        for (long i = end - 1; i >= 0 && i >= end - capacity; i--) {
            Decision d = ring.get((int) (i % capacity));
            if (d != null) {
                out.add(d);
            }
        }
        return out;
    }

    /** The newest retained decision of a request, or null. */
    public Decision forRequest(String requestId) {
        for (Decision d : recent()) {
            if (d.requestId().equals(requestId)) {
                return d;
            }
        }
        return null;
    }
}
