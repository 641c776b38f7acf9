package io.epp4j.epp.k8s;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.ObjectiveResolver;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Runs the EPP as an InferencePool's endpoint picker: watches the pool (or, standalone, pods by label), its pods,
 * the InferenceObjectives and InferenceModelRewrites bound to it, and takes part in leader election.
 *
 * <p>Everything arrives through fabric8 informers whose handlers only update in-memory state: the
 * {@link EndpointStore} (membership and {@code synced}), the objective table and the rewrite table. The request
 * path reads those snapshots and never calls the API server. Watch failures never clear anything: the last known
 * endpoints keep serving while the informers reconnect and relist.
 *
 * <p>Start with {@link #start}; {@link #close()} stops the informers and releases the Lease.
 */
public final class KubernetesPoolSource implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KubernetesPoolSource.class);

    static final String OBJECTIVES = "inferenceobjectives";
    static final String REWRITES = "inferencemodelrewrites";

    private final PoolOptions options;
    private final EndpointStore store;
    private final PoolReconciler reconciler;
    private final ObjectiveTable objectives;
    private final ModelRewriteTable rewrites;
    private final WatchMonitor monitor;
    private final List<SharedIndexInformer<?>> informers = new CopyOnWriteArrayList<>();
    private final KubernetesClient client;
    private final ScheduledExecutorService discovery;
    private final CountDownLatch discovered = new CountDownLatch(1);
    private volatile boolean closed;
    private final LeadershipState leadership;
    private final LeaseElection election;
    /** The API group each optional CRD is watched under, or null when it is not watched. */
    private volatile String objectivesGroup;
    private volatile String rewritesGroup;

    private KubernetesPoolSource(KubernetesClient client, PoolOptions options, EndpointStore store,
                                 PrometheusRegistry registry, Clock clock, Random random) {
        this.options = options;
        this.store = store;
        this.client = client;
        this.discovery = DaemonThreads.scheduler("epp4j-crd-discovery");
        this.monitor = new WatchMonitor(registry, clock, options.watchCheckInterval());
        this.objectives = new ObjectiveTable(options.poolName(), options.poolGroup());
        this.rewrites = new ModelRewriteTable(options.poolName(), options.poolGroup(), random);
        SharedIndexInformer<Pod> pods = client.pods().inNamespace(options.namespace()).runnableInformer(0);
        this.reconciler = new PoolReconciler(store, () -> pods.getStore().list());
        if (options.takesLease()) {
            this.election = new LeaseElection(client, options);
            this.leadership = election;
        } else {
            this.election = null;
            this.leadership = options.leaderElection() ? ACTIVE_ACTIVE : LeadershipState.NONE;
        }
        store.setSynced(false);

        monitor.watch("pods", pods);
        pods.addEventHandler(handler("pods", reconciler::podChanged, reconciler::podDeleted,
                reconciler::podsListed));
        informers.add(pods);

        if (options.isStandalone()) {
            LOG.info("Standalone mode: pods in {} with labels {}, target ports {} (pool name {})",
                    options.namespace(), options.endpointSelector(), options.endpointTargetPorts(),
                    options.poolName());
            reconciler.poolUpserted(new PoolSpec(options.poolName(), options.namespace(),
                    options.endpointSelector(), options.endpointTargetPorts(), "http"));
        } else {
            informers.add(poolInformer(client));
        }
    }

    /** Every replica serves: leader election is on (liveness/readiness services) but no Lease gates readiness. */
    private static final LeadershipState ACTIVE_ACTIVE = new LeadershipState() {
        @Override
        public boolean electionEnabled() {
            return true;
        }

        @Override
        public boolean isLeader() {
            return true;
        }
    };

    /**
     * Starts watching and returns at once; {@code store.synced()} turns true once the pool has been read and its
     * pods listed. Missing optional CRDs are logged once; an unreachable API server is retried, never fatal.
     *
     * @param client   a client found the standard way ({@link #defaultClient()})
     * @param registry where the watch restart/relist/error counters are registered
     * @param clock    for outage durations in logs
     */
    public static KubernetesPoolSource start(KubernetesClient client, PoolOptions options, EndpointStore store,
                                             PrometheusRegistry registry, Clock clock) {
        return start(client, options, store, registry, clock, new Random());
    }

    /** As {@link #start(KubernetesClient, PoolOptions, EndpointStore, PrometheusRegistry, Clock)}, with the
     * random source for weighted model rewrites (seed it in tests). */
    public static KubernetesPoolSource start(KubernetesClient client, PoolOptions options, EndpointStore store,
                                             PrometheusRegistry registry, Clock clock, Random random) {
        KubernetesPoolSource source = new KubernetesPoolSource(client, options, store, registry, clock, random);
        for (SharedIndexInformer<?> informer : source.informers) {
            informer.start();
        }
        if (options.isStandalone()) {
            source.discovered.countDown(); // GAIE's standalone mode has no objectives or rewrites
        } else {
            source.discovery.execute(() -> source.discoverOptionalCrds(0));
        }
        if (source.election != null) {
            source.election.start();
        }
        return source;
    }

    /**
     * A client for the cluster found the standard way: in-cluster service account, else {@code KUBECONFIG}, else
     * {@code ~/.kube/config}.
     */
    public static KubernetesClient defaultClient() {
        return new io.fabric8.kubernetes.client.KubernetesClientBuilder().build();
    }

    /** InferenceObjective name → priority (0 when unknown or when the CRD is not installed). */
    public ObjectiveResolver objectives() {
        return objectives;
    }

    /** InferenceModelRewrite rules of this pool (identity when none or when the CRD is not installed). */
    public ModelRewriter rewriter() {
        return rewrites;
    }

    /** What the health service reads for GAIE's liveness/readiness split. */
    public LeadershipState leadership() {
        return leadership;
    }

    /** Whether this replica may report ready as far as HA is concerned (see {@link LeadershipState#isLeader()}). */
    public boolean isLeader() {
        return leadership.isLeader();
    }

    /** Ready to serve: pool synced and, in active-passive HA, holding the Lease. */
    public boolean ready() {
        return store.synced() && leadership.isLeader();
    }

    /** The pool as last read (null while absent); e.g. for the appProtocol check. */
    public PoolSpec pool() {
        return reconciler.pool();
    }

    public PoolOptions options() {
        return options;
    }

    boolean objectivesWatched() {
        return objectivesGroup != null;
    }

    boolean rewritesWatched() {
        return rewritesGroup != null;
    }

    /** The API group InferenceObjectives are watched under ({@code llm-d.ai} or GAIE's), or null. */
    String objectivesGroup() {
        return objectivesGroup;
    }

    /** The API group InferenceModelRewrites are watched under, or null. */
    String rewritesGroup() {
        return rewritesGroup;
    }

    /** Whether every informer has listed and has a watch open (tests wait for this before changing objects). */
    boolean watching() {
        if (discovered.getCount() > 0) {
            return false;
        }
        for (SharedIndexInformer<?> informer : informers) {
            if (!WatchMonitor.isWatching(informer)) {
                return false;
            }
        }
        return true;
    }

    WatchMonitor monitor() {
        return monitor;
    }

    private SharedIndexInformer<GenericKubernetesResource> poolInformer(KubernetesClient client) {
        boolean v1 = options.poolGroup().equals(PoolOptions.GROUP_V1);
        ResourceDefinitionContext ctx = namespaced(options.poolGroup(), v1 ? "v1" : "v1alpha2", "InferencePool",
                "inferencepools");
        // All pools of the namespace, filtered by name here: same RBAC (namespaced list/watch) as a field
        // selector, and it works with every API server flavour.
        SharedIndexInformer<GenericKubernetesResource> informer = client.genericKubernetesResources(ctx)
                .inNamespace(options.namespace()).runnableInformer(0);
        monitor.watch("inferencepools", informer);
        informer.addEventHandler(handler("inferencepools", pool -> poolSeen(pool, v1), pool -> {
            if (options.poolName().equals(pool.getMetadata().getName())) {
                reconciler.poolRemoved("deleted");
            }
        }, () -> { }));
        LOG.info("Watching InferencePool {}/{} ({}/{})", options.namespace(), options.poolName(),
                options.poolGroup(), v1 ? "v1" : "v1alpha2");
        return informer;
    }

    private void poolSeen(GenericKubernetesResource pool, boolean v1) {
        if (!options.poolName().equals(pool.getMetadata().getName())) {
            return;
        }
        if (pool.getMetadata().getDeletionTimestamp() != null) {
            reconciler.poolRemoved("being deleted");
            return;
        }
        PoolSpec spec;
        try {
            spec = v1 ? PoolSpec.fromV1(pool) : PoolSpec.fromV1alpha2(pool);
        } catch (IllegalArgumentException e) {
            reconciler.poolRemoved("unusable spec: " + e.getMessage());
            return;
        }
        reconciler.poolUpserted(spec);
    }

    /** Waits until discovery of the optional CRDs has a definitive answer (tests). */
    boolean awaitDiscovery(java.time.Duration timeout) throws InterruptedException {
        return discovered.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * InferenceObjective and InferenceModelRewrite are optional: discovery decides, once (as GAIE v1.5.0), and per
     * kind picks the API group as llm-d-router does: llm-d's {@code llm-d.ai/v1alpha2} when served, else GAIE's
     * {@code inference.networking.x-k8s.io/v1alpha2}. A CRD that is not served is one log line, never a retry loop.
     * Discovery itself runs off the start-up path and is retried with backoff only while the API server cannot
     * answer (unreachable, 5xx), so a hiccup at start does not switch objectives off for the life of the process;
     * readiness never waits for it.
     */
    private void discoverOptionalCrds(int attempt) {
        if (closed) {
            return;
        }
        Set<String> llmd;
        Set<String> gaie;
        String groupVersion = PoolOptions.GROUP_LLMD + "/v1alpha2";
        try {
            llmd = served(groupVersion);
            groupVersion = PoolOptions.GROUP_X + "/v1alpha2";
            gaie = served(groupVersion);
        } catch (KubernetesClientException e) {
            long delayMillis = Math.min(30_000L, 1_000L << Math.min(attempt, 5));
            if (attempt == 0) {
                LOG.warn("Discovery of {} failed ({}); retrying every {} s at most until the API server answers",
                        groupVersion, e.getMessage(), 30);
            }
            try {
                discovery.schedule(() -> discoverOptionalCrds(attempt + 1), delayMillis, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // closed meanwhile
            }
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            objectivesGroup = watchIfServed(llmd, gaie, "InferenceObjective", OBJECTIVES, objectives::rebuild,
                    "every request has priority 0", "objectives");
            rewritesGroup = watchIfServed(llmd, gaie, "InferenceModelRewrite", REWRITES, rewrites::rebuild,
                    "models are not rewritten", "rewrites");
        }
        discovered.countDown();
    }

    /**
     * The resource plurals a group version serves; none when it is not served (404) or discovery is not allowed
     * (401/403, logged).
     *
     * @throws KubernetesClientException when the API server cannot answer (worth retrying)
     */
    private Set<String> served(String groupVersion) {
        try {
            APIResourceList list = client.getApiResources(groupVersion);
            return list == null || list.getResources() == null ? Set.of()
                    : list.getResources().stream().map(APIResource::getName).collect(Collectors.toSet());
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return Set.of();
            }
            if (e.getCode() == 401 || e.getCode() == 403) {
                LOG.warn("Discovery of {} is not allowed ({}); InferenceObjective and InferenceModelRewrite are not"
                        + " watched under it", groupVersion, e.getCode());
                return Set.of();
            }
            throw e;
        }
    }

    /**
     * Watches an optional CRD under the first group that serves it (llm-d's, then GAIE's) and returns that group;
     * otherwise says what is missing and what it means, and returns null.
     */
    private String watchIfServed(Set<String> llmd, Set<String> gaie, String kind, String plural,
                                 Consumer<Collection<GenericKubernetesResource>> table, String meaning, String use) {
        String group = llmd.contains(plural) ? PoolOptions.GROUP_LLMD : gaie.contains(plural) ? PoolOptions.GROUP_X
                : null;
        if (group == null) {
            LOG.info("{} CRD ({}/v1alpha2 or {}/v1alpha2) is not installed: {}. Install it and restart the EPP to use"
                    + " {}.", kind, PoolOptions.GROUP_LLMD, PoolOptions.GROUP_X, meaning, use);
            return null;
        }
        if (group.equals(PoolOptions.GROUP_LLMD) && gaie.contains(plural)) {
            LOG.warn("{} is served under both {} and {}: the {} resources are watched, the {} ones ignored", kind,
                    PoolOptions.GROUP_LLMD, PoolOptions.GROUP_X, PoolOptions.GROUP_LLMD, PoolOptions.GROUP_X);
        }
        watchOptional(group, kind, plural, table);
        return group;
    }

    /**
     * Starts watching an optional CRD's resources of this namespace; on every change {@code table} is rebuilt from
     * all of them (the tables are small, and a rebuild keeps their snapshots consistent).
     */
    private void watchOptional(String group, String kind, String plural,
                               Consumer<Collection<GenericKubernetesResource>> table) {
        ResourceDefinitionContext ctx = namespaced(group, "v1alpha2", kind, plural);
        SharedIndexInformer<GenericKubernetesResource> informer = client.genericKubernetesResources(ctx)
                .inNamespace(options.namespace()).runnableInformer(0);
        monitor.watch(plural, informer);
        LOG.info("Watching {} ({}/v1alpha2) in {}", kind, group, options.namespace());
        Runnable rebuild = () -> table.accept(informer.getStore().list());
        informer.addEventHandler(handler(plural, o -> rebuild.run(), o -> rebuild.run(), rebuild));
        informers.add(informer);
        informer.start();
    }

    /** A namespaced custom resource type, as the generic client addresses it. */
    static ResourceDefinitionContext namespaced(String group, String version, String kind, String plural) {
        return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
                .withPlural(plural).withNamespaced(true).build();
    }

    /** A handler that only records: every callback is an in-memory update; errors are logged, never thrown. */
    private <T> ResourceEventHandler<T> handler(String resource, Consumer<T> upsert, Consumer<T> delete,
                                                Runnable listed) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                guarded(() -> upsert.accept(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                guarded(() -> upsert.accept(newObj));
            }

            @Override
            public void onDelete(T obj, boolean finalStateUnknown) {
                guarded(() -> delete.accept(obj));
            }

            @Override
            public void onList(String resourceVersion, boolean remainedEmpty) {
                guarded(() -> {
                    monitor.listed(resource);
                    listed.run();
                });
            }

            private void guarded(Runnable work) {
                try {
                    work.run();
                } catch (RuntimeException e) {
                    LOG.error("Kubernetes: handling a {} event failed; state may lag until the next event",
                            resource, e);
                }
            }
        };
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        discovery.shutdownNow();
        if (election != null) {
            election.close();
        }
        for (SharedIndexInformer<?> informer : informers) {
            try {
                informer.stop();
            } catch (RuntimeException e) {
                LOG.debug("stopping informer", e);
            }
        }
        monitor.close();
    }
}
