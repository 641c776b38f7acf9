package io.epp4j.epp.k8s;

/**
 * What the health service needs to know about HA (gaie-epp.md §7.2); thread-safe, non-blocking.
 *
 * <p>With {@link #electionEnabled()} the health service answers GAIE's {@code liveness} (always SERVING) and
 * {@code readiness} (SERVING iff the pool is synced and {@link #isLeader()}) services.
 */
public interface LeadershipState {

    /** Leader election off: every replica is ready once synced. */
    LeadershipState NONE = new LeadershipState() {
        @Override
        public boolean electionEnabled() {
            return false;
        }

        @Override
        public boolean isLeader() {
            return true;
        }
    };

    /** Whether {@code --ha-enable-leader-election} is on (in either HA mode). */
    boolean electionEnabled();

    /**
     * Whether this replica may report ready: true while it holds the Lease (active-passive), always in
     * active-active mode or without leader election.
     */
    boolean isLeader();
}
