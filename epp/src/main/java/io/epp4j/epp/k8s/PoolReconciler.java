package io.epp4j.epp.k8s;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.fabric8.kubernetes.api.model.Pod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Keeps the {@link EndpointStore} equal to "Ready pods of the pool × active target ports".
 *
 * <p>Called from the informers' event threads. Every call is in-memory and short (one pod: a few upserts; a
 * resync: one pass over the cached pods), so handlers stay quick; the lock orders pool and pod events, which
 * arrive on different informer threads.
 */
final class PoolReconciler {

    private static final Logger LOG = LoggerFactory.getLogger(PoolReconciler.class);

    private final EndpointStore store;
    private final Supplier<Collection<Pod>> cachedPods;
    private PoolSpec pool;
    private boolean podsListed;

    PoolReconciler(EndpointStore store, Supplier<Collection<Pod>> cachedPods) {
        this.store = store;
        this.cachedPods = cachedPods;
    }

    /** The pool as last read, or null while there is none. */
    synchronized PoolSpec pool() {
        return pool;
    }

    /** The pool appeared or changed; resyncs every pod when the selector or the ports changed (as GAIE). */
    synchronized void poolUpserted(PoolSpec next) {
        PoolSpec previous = pool;
        pool = next;
        if (previous == null || previous.needsResyncTo(next)) {
            LOG.info("InferencePool {}/{}: selector {} target ports {}{}", next.namespace(), next.name(),
                    next.selector(), next.targetPorts(), previous == null ? "" : " (changed; resyncing pods)");
            resyncIfListed();
        }
    }

    /** The pool is gone (deleted, terminating or unusable): no endpoints, not synced, until it comes back. */
    synchronized void poolRemoved(String why) {
        if (pool == null && !store.synced() && store.size() == 0) {
            return;
        }
        LOG.warn("InferencePool {}: {}; dropping all {} endpoints and reporting NOT_SERVING until it returns",
                pool == null ? "?" : pool.namespace() + "/" + pool.name(), why, store.size());
        pool = null;
        store.setSynced(false);
        store.replaceAll(List.of());
    }

    /** The pod informer finished a (re)list: from now on its cache is complete. */
    synchronized void podsListed() {
        podsListed = true;
        resyncIfListed();
    }

    synchronized void podChanged(Pod pod) {
        if (pool == null || !podsListed) {
            return; // the resync when both are known covers this pod
        }
        String podName = pod.getMetadata().getName();
        List<EndpointInfo> wanted = PodEndpoints.of(pool, pod);
        Set<String> keep = new HashSet<>();
        for (EndpointInfo e : wanted) {
            store.upsert(e);
            keep.add(e.name());
        }
        for (int rank = 0; rank < pool.targetPorts().size(); rank++) {
            String name = PodEndpoints.endpointName(podName, rank);
            if (!keep.contains(name)) {
                store.remove(name);
            }
        }
    }

    synchronized void podDeleted(Pod pod) {
        if (pool == null) {
            return;
        }
        String podName = pod.getMetadata().getName();
        for (int rank = 0; rank < pool.targetPorts().size(); rank++) {
            store.remove(PodEndpoints.endpointName(podName, rank));
        }
    }

    private void resyncIfListed() {
        if (pool == null || !podsListed) {
            return;
        }
        List<EndpointInfo> all = new ArrayList<>();
        for (Pod pod : cachedPods.get()) {
            all.addAll(PodEndpoints.of(pool, pod));
        }
        store.replaceAll(all);
        if (!store.synced()) {
            LOG.info("InferencePool {}/{} synced: {} endpoints", pool.namespace(), pool.name(), all.size());
        }
        store.setSynced(true);
    }
}
