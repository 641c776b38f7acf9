package io.epp4j.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Request headers pre-request hooks add to, or remove from, the request the gateway forwards to the model server
 * (llm-d's {@code x-prefiller-host-port}, {@code x-data-parallel-host-port}). One per request, found in the
 * {@link CycleState} under {@link #KEY} while pre-request hooks run; used by one thread at a time, not thread-safe.
 * A header both removed and set is set (the set overwrites any copy the client sent).
 */
public final class UpstreamHeaders {

    public static final CycleState.Key<UpstreamHeaders> KEY = new CycleState.Key<>("upstream-headers");

    private final Map<String, String> sets = new LinkedHashMap<>();
    private final Set<String> removals = new LinkedHashSet<>();

    /** Sets header {@code name} (lower case) to {@code value}, replacing any copy the client sent. */
    public void set(String name, String value) {
        removals.remove(name);
        sets.put(name, value);
    }

    /** Removes header {@code name} (lower case) from the forwarded request, unless a hook sets it. */
    public void remove(String name) {
        if (!sets.containsKey(name)) {
            removals.add(name);
        }
    }

    public Map<String, String> sets() {
        return Collections.unmodifiableMap(sets);
    }

    public Set<String> removals() {
        return Collections.unmodifiableSet(removals);
    }

    public boolean isEmpty() {
        return sets.isEmpty() && removals.isEmpty();
    }
}
