package io.epp4j.epp.kvevents;

/** A KV-event message that cannot be decoded; the subscriber drops it and counts it, the reason as a label. */
public final class MalformedEventException extends Exception {

    private final String reason;

    public MalformedEventException(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    /** A short label value: {@code frames}, {@code msgpack}, {@code too_large}, {@code schema}. */
    public String reason() {
        return reason;
    }
}
