package io.epp4j.epp.scheduling;

import io.epp4j.epp.concurrent.Ring;

import java.util.List;

/** The last N scheduling decisions, in a lock-free {@link Ring}; older ones are overwritten. */
public final class DecisionLog {

    private final Ring<Decision> ring;

    public DecisionLog(int capacity) {
        this.ring = new Ring<>(capacity);
    }

    void record(Decision decision) {
        ring.record(decision);
    }

    /** The retained decisions, newest first. */
    public List<Decision> recent() {
        return ring.recent(Integer.MAX_VALUE);
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
