package io.epp4j.epp.director;

import io.epp4j.epp.concurrent.Ring;

import java.util.List;

/** The last N requests as they ended, as immutable records in a lock-free {@link Ring}. */
public final class RequestLog {

    private final Ring<RequestRecord> ring;

    public RequestLog(int capacity) {
        this.ring = new Ring<>(capacity);
    }

    void record(RequestRecord request) {
        ring.record(request);
    }

    /** How many requests were recorded since the start (retained or not). */
    public long recorded() {
        return ring.recorded();
    }

    /** At most {@code limit} retained requests, newest first. */
    public List<RequestRecord> recent(int limit) {
        return ring.recent(limit);
    }
}
