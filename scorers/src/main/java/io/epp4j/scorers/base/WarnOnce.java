package io.epp4j.scorers.base;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A warning logged the first time a plugin meets a condition it cannot act on (a missing label, metric or peer),
 * so the operator learns why the plugin stands aside without a line per request. Thread-safe.
 */
public final class WarnOnce {

    private final Logger log;
    private final AtomicBoolean done = new AtomicBoolean();

    public WarnOnce(Class<?> owner) {
        this.log = LoggerFactory.getLogger(owner);
    }

    /** Whether the warning is still to come (to skip the check that leads to it once it was logged). */
    public boolean pending() {
        return !done.get();
    }

    /** Logs {@code format} (slf4j placeholders) unless this instance already logged. */
    public void warn(String format, Object... args) {
        if (!done.get() && done.compareAndSet(false, true)) {
            log.warn(format, args);
        }
    }
}
