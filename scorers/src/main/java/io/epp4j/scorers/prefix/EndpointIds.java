package io.epp4j.scorers.prefix;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Small dense ids for endpoint names, so that an index keeps its per-endpoint state in arrays indexed by id; the id
 * of a removed endpoint is handed out again. Used by the approximate prefix index ({@link PrefixIndex}) and the
 * precise one (the KV-event index). {@link #idOf}, {@link #bound} and {@link #endpoints} are lock-free;
 * {@link #add} and {@link #remove} must be called under the owner's write lock, which also orders them with the
 * owner's per-id arrays.
 */
public final class EndpointIds {

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final int max;
    private volatile int bound;
    private int[] free = new int[0];
    private int freeCount;

    /** @param max ids in use at once at most ({@link Integer#MAX_VALUE}: no limit) */
    public EndpointIds(int max) {
        this.max = max;
    }

    /** The id of a known endpoint, or -1. */
    public int idOf(String endpoint) {
        Integer id = ids.get(endpoint);
        return id == null ? -1 : id;
    }

    /**
     * An id for {@code endpoint}, which has none yet: a freed one, else the next (below {@link #bound()} afterwards);
     * -1 when {@code max} ids are in use. The caller resets its per-id state for the id (and grows its arrays to
     * {@link #bound()}).
     */
    public int add(String endpoint) {
        int id;
        if (freeCount > 0) {
            id = free[--freeCount];
        } else {
            if (bound == max) {
                return -1;
            }
            id = bound;
            bound = id + 1;
        }
        ids.put(endpoint, id);
        return id;
    }

    /** Forgets {@code endpoint}; returns its id, now free to be handed out again, or -1 when it had none. */
    public int remove(String endpoint) {
        Integer id = ids.remove(endpoint);
        if (id == null) {
            return -1;
        }
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, Math.max(8, freeCount * 2));
        }
        free[freeCount++] = id;
        return id;
    }

    /** Ids ever handed out: every id is below it (the length per-id arrays need). */
    public int bound() {
        return bound;
    }

    /** The endpoints that have an id now. */
    public Set<String> endpoints() {
        return Set.copyOf(ids.keySet());
    }
}
