package io.epp4j.spi;

import java.util.HashMap;
import java.util.Map;

/**
 * Per-scheduling-cycle scratch space shared by the plugins of one request. One instance per request, used by
 * one thread at a time; not thread-safe.
 */
public final class CycleState {

    /** A typed key; compare by identity, so keep keys in static finals. */
    public static final class Key<T> {
        private final String name;

        public Key(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final Map<Key<?>, Object> values = new HashMap<>();

    public <T> void put(Key<T> key, T value) {
        values.put(key, value);
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Key<T> key) {
        return (T) values.get(key);
    }
}
