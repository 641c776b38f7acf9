package io.epp4j.epp.k8s;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Active-passive HA: competes for GAIE's coordination.k8s.io Lease and reports whether this replica holds it.
 *
 * <p>A replica that loses the Lease (renew deadline missed, e.g. during an API server outage) stops reporting
 * ready and rejoins the election, instead of exiting as controller-runtime does: its warm caches make it able to
 * take over again at once. {@link #close()} releases the Lease so a standby takes over without waiting for it to
 * expire.
 */
final class LeaseElection implements LeadershipState, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseElection.class);

    private final KubernetesClient client;
    private final PoolOptions options;
    private final ScheduledExecutorService executor;
    private volatile boolean leader;
    private volatile boolean closed;
    private CompletableFuture<?> running;

    LeaseElection(KubernetesClient client, PoolOptions options) {
        this.client = client;
        this.options = options;
        this.executor = DaemonThreads.scheduler("epp4j-leader-election");
    }

    @Override
    public boolean electionEnabled() {
        return true;
    }

    @Override
    public boolean isLeader() {
        return leader;
    }

    synchronized void start() {
        if (closed) {
            return;
        }
        LeaderElector elector = new LeaderElector(client, new LeaderElectionConfigBuilder()
                .withName(options.leaseName())
                .withLock(new LeaseLock(options.namespace(), options.leaseName(), options.identity()))
                .withLeaseDuration(options.leaseDuration())
                .withRenewDeadline(options.renewDeadline())
                .withRetryPeriod(options.retryPeriod())
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(this::startedLeading, this::stoppedLeading,
                        this::newLeader))
                .build(), executor);
        LOG.info("Leader election: competing for Lease {}/{} as {}", options.namespace(), options.leaseName(),
                options.identity());
        CompletableFuture<?> future = elector.start();
        running = future;
        future.whenComplete((v, t) -> rejoin());
    }

    private void startedLeading() {
        leader = true;
        LOG.info("Leader election: {} is now the leader of {}", options.identity(), options.leaseName());
    }

    private void stoppedLeading() {
        if (leader && closed) {
            LOG.info("Leader election: {} released {}", options.identity(), options.leaseName());
        } else if (leader) {
            LOG.warn("Leader election: {} lost {}; not ready until it leads again", options.identity(),
                    options.leaseName());
        }
        leader = false;
    }

    private void newLeader(String identity) {
        if (identity != null && !identity.isEmpty() && !identity.equals(options.identity())) {
            LOG.info("Leader election: {} leads {}; this replica stands by", identity, options.leaseName());
        }
    }

    /** One elector run ended (Lease lost or not renewable); compete again unless closing. */
    private void rejoin() {
        leader = false;
        if (!closed) {
            try {
                executor.schedule(this::start, options.retryPeriod().toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException ignored) {
                // closing concurrently
            }
        }
    }

    @Override
    public void close() {
        CompletableFuture<?> current;
        synchronized (this) {
            closed = true;
            current = running;
        }
        if (current != null) {
            current.cancel(true); // releases the Lease (releaseOnCancel) before returning
        }
        leader = false;
        executor.shutdownNow();
    }
}
