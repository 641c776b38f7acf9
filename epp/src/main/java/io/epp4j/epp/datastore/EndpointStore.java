package io.epp4j.epp.datastore;

import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The EPP's view of its pool: the current endpoints, their latest metrics and the EPP-side in-flight counts.
 *
 * <p>Writers (the static endpoint list, the Kubernetes watchers, the scrapers) publish changes; the request path
 * only reads an immutable snapshot ({@link #snapshot()}), so it never blocks on a writer. Membership changes
 * are serialised by a lock; metrics and in-flight counts are updated lock-free per endpoint.
 */
public final class EndpointStore {

    /** Told about membership changes, on the writer's thread; must return quickly. */
    public interface Listener {
        void onAdded(EndpointInfo endpoint);

        void onRemoved(EndpointInfo endpoint);
    }

    private static final class Entry {
        final EndpointInfo info;
        final AtomicReference<EndpointMetrics> metrics = new AtomicReference<>(EndpointMetrics.UNKNOWN);
        final AtomicInteger inFlightRequests = new AtomicInteger();
        final AtomicLong inFlightTokens = new AtomicLong();

        Entry(EndpointInfo info) {
            this.info = info;
        }

        Endpoint view() {
            return new Endpoint(info, metrics.get(), inFlightRequests.get(), inFlightTokens.get());
        }
    }

    private final Object writeLock = new Object();
    private volatile Map<String, Entry> entries = Map.of();
    private volatile List<Entry> ordered = List.of();
    private volatile boolean synced;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Replaces the whole membership; endpoints keep their metrics and counts when their info is unchanged. */
    public void replaceAll(Collection<EndpointInfo> endpoints) {
        List<EndpointInfo> added = new ArrayList<>();
        List<EndpointInfo> removed = new ArrayList<>();
        synchronized (writeLock) {
            Map<String, Entry> old = entries;
            Map<String, Entry> next = new LinkedHashMap<>();
            for (EndpointInfo info : endpoints) {
                Entry existing = old.get(info.name());
                if (existing != null && existing.info.equals(info)) {
                    next.put(info.name(), existing);
                } else {
                    if (existing != null) {
                        removed.add(existing.info);
                    }
                    next.put(info.name(), new Entry(info));
                    added.add(info);
                }
            }
            for (Entry e : old.values()) {
                if (!next.containsKey(e.info.name())) {
                    removed.add(e.info);
                }
            }
            publish(next);
        }
        notify(added, removed);
    }

    /** Adds or replaces one endpoint (by name). */
    public void upsert(EndpointInfo info) {
        List<EndpointInfo> removed = new ArrayList<>();
        synchronized (writeLock) {
            Entry existing = entries.get(info.name());
            if (existing != null && existing.info.equals(info)) {
                return;
            }
            if (existing != null) {
                removed.add(existing.info);
            }
            Map<String, Entry> next = new LinkedHashMap<>(entries);
            next.put(info.name(), new Entry(info));
            publish(next);
        }
        notify(List.of(info), removed);
    }

    /** Removes one endpoint by name; no-op when absent. */
    public void remove(String name) {
        EndpointInfo gone;
        synchronized (writeLock) {
            Entry existing = entries.get(name);
            if (existing == null) {
                return;
            }
            gone = existing.info;
            Map<String, Entry> next = new LinkedHashMap<>(entries);
            next.remove(name);
            publish(next);
        }
        notify(List.of(), List.of(gone));
    }

    private void publish(Map<String, Entry> next) {
        entries = Collections.unmodifiableMap(next);
        ordered = List.copyOf(next.values());
    }

    private void notify(List<EndpointInfo> added, List<EndpointInfo> removed) {
        for (Listener l : listeners) {
            removed.forEach(l::onRemoved);
            added.forEach(l::onAdded);
        }
    }

    /** An immutable view of every endpoint, in insertion order. */
    public List<Endpoint> snapshot() {
        List<Entry> current = ordered;
        Endpoint[] views = new Endpoint[current.size()];
        for (int i = 0; i < views.length; i++) {
            views[i] = current.get(i).view();
        }
        return List.of(views);
    }

    public List<EndpointInfo> endpoints() {
        List<Entry> current = ordered;
        List<EndpointInfo> infos = new ArrayList<>(current.size());
        for (Entry e : current) {
            infos.add(e.info);
        }
        return infos;
    }

    public int size() {
        return ordered.size();
    }

    /** The endpoint with that name, or null. */
    public Endpoint get(String name) {
        Entry e = entries.get(name);
        return e == null ? null : e.view();
    }

    /** Publishes new metrics for an endpoint; ignored when it was removed meanwhile. */
    public void updateMetrics(String name, EndpointMetrics metrics) {
        Entry e = entries.get(name);
        if (e != null) {
            e.metrics.set(metrics);
        }
    }

    /**
     * A request counted as in flight to one endpoint; {@link #release()} undoes the count once. The slot is bound
     * to the endpoint entry it was taken on: when the endpoint is removed (or replaced under the same name) the
     * old counts go with the old entry, so a late release never touches the new one.
     */
    public interface InFlightSlot {
        /** Releases the slot; further calls do nothing. */
        void release();
    }

    private static final InFlightSlot NO_SLOT = () -> { };

    /** Counts a request (and its estimated tokens) as in flight to an endpoint; absent endpoint: a no-op slot. */
    public InFlightSlot acquire(String name, long tokens) {
        Entry e = entries.get(name);
        if (e == null) {
            return NO_SLOT;
        }
        e.inFlightRequests.incrementAndGet();
        e.inFlightTokens.addAndGet(tokens);
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                e.inFlightRequests.decrementAndGet();
                e.inFlightTokens.addAndGet(-tokens);
            }
        };
    }

    /** Whether the pool is known (static endpoints: always; Kubernetes: once the pool was read). */
    public boolean synced() {
        return synced;
    }

    public void setSynced(boolean synced) {
        this.synced = synced;
    }
}
