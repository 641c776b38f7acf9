package io.epp4j.spi;

import java.util.HashMap;
import java.util.List;
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

    /**
     * The picks of the scheduling profiles that already ran for this request, by profile name in the order they
     * ran (a read-only view the scheduler keeps current). A plugin in a later profile reads its peer here, for
     * example the decode pick while the prefill profile runs.
     */
    public static final Key<Map<String, List<Endpoint>>> PROFILE_PICKS = new Key<>("profile-picks");

    private final Map<Key<?>, Object> values = new HashMap<>();

    public <T> void put(Key<T> key, T value) {
        values.put(key, value);
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Key<T> key) {
        return (T) values.get(key);
    }

    /**
     * The primary pick of the latest profile that ran before the current one and picked an endpoint (the peer of a
     * disaggregated request: the decode endpoint while the prefill profile runs), or null when none did.
     */
    public Endpoint peerEndpoint() {
        Map<String, List<Endpoint>> picks = get(PROFILE_PICKS);
        Endpoint peer = null;
        if (picks != null) {
            for (List<Endpoint> picked : picks.values()) {
                if (!picked.isEmpty()) {
                    peer = picked.get(0);
                }
            }
        }
        return peer;
    }
}
