package io.epp4j.epp.k8s;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the Kubernetes source watches and how replicas coordinate; immutable.
 *
 * <p>Exactly one of two modes: an InferencePool by name ({@link #forPool}) or standalone pods by label selector
 * ({@link #standalone}). Build with the factories, then refine with the {@code with…} methods. The flag names in
 * the Javadoc are GAIE's.
 *
 * @param poolName            {@code --pool-name}; in standalone mode the name derived from {@code POD_NAME}
 * @param namespace           {@code --pool-namespace} → env {@code NAMESPACE} → {@code default}
 * @param poolGroup           {@code --pool-group}: {@code inference.networking.k8s.io} (v1 pools) or
 *                            {@code inference.networking.x-k8s.io} (v1alpha2 pools)
 * @param endpointSelector    {@code --endpoint-selector} (standalone mode only; empty otherwise)
 * @param endpointTargetPorts {@code --endpoint-target-ports} (standalone mode only; 1–8 distinct ports)
 * @param leaderElection      {@code --ha-enable-leader-election}
 * @param haMode              {@code --ha-mode}: what leadership means for readiness (only with leader election)
 * @param leaseDuration       {@code --ha-lease-duration} (15 s, controller-runtime's default)
 * @param renewDeadline       {@code --ha-renew-deadline} (10 s)
 * @param retryPeriod         {@code --ha-retry-period} (2 s)
 * @param identity            this replica's name in the Lease: env {@code POD_NAME}, else hostname + random suffix
 * @param watchCheckInterval  how often watch health is checked for the restart metric and logs (1 s)
 */
public record PoolOptions(
        String poolName,
        String namespace,
        String poolGroup,
        Map<String, String> endpointSelector,
        List<Integer> endpointTargetPorts,
        boolean leaderElection,
        HaMode haMode,
        Duration leaseDuration,
        Duration renewDeadline,
        Duration retryPeriod,
        String identity,
        Duration watchCheckInterval) {

    /** GAIE's default pool group (v1 InferencePool). */
    public static final String GROUP_V1 = "inference.networking.k8s.io";
    /** The experimental group: v1alpha2 InferencePool (older clusters), InferenceObjective, InferenceModelRewrite. */
    public static final String GROUP_X = "inference.networking.x-k8s.io";
    /** llm-d-router's group for InferenceObjective and InferenceModelRewrite (preferred when served). */
    public static final String GROUP_LLMD = "llm-d.ai";
    public static final int MAX_TARGET_PORTS = 8;

    /** How replicas share the work when leader election is on. */
    public enum HaMode {
        /** GAIE's design: only the Lease holder reports ready; the others keep a warm copy and wait. */
        ACTIVE_PASSIVE,
        /** Every replica watches, reports ready and serves; no Lease is taken. */
        ACTIVE_ACTIVE;

        /** Parses the flag value {@code active-passive} / {@code active-active}. */
        public static HaMode parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(java.util.Locale.ROOT);
            return switch (v) {
                case "active-passive", "" -> ACTIVE_PASSIVE;
                case "active-active" -> ACTIVE_ACTIVE;
                default -> throw new IllegalArgumentException(
                        "--ha-mode must be active-passive or active-active, got '" + value + "'");
            };
        }

        public String flagValue() {
            return this == ACTIVE_PASSIVE ? "active-passive" : "active-active";
        }
    }

    private static final Pattern DEPLOYMENT_FROM_POD = Pattern.compile("^(.+)-[a-z0-9]+-[a-z0-9]+$");

    public PoolOptions {
        Objects.requireNonNull(poolName, "poolName");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(poolGroup, "poolGroup");
        endpointSelector = Map.copyOf(endpointSelector);
        endpointTargetPorts = List.copyOf(endpointTargetPorts);
        Objects.requireNonNull(haMode, "haMode");
        Objects.requireNonNull(identity, "identity");
        if (poolName.isEmpty()) {
            throw new IllegalArgumentException("pool name must not be empty");
        }
        if (!poolGroup.equals(GROUP_V1) && !poolGroup.equals(GROUP_X)) {
            throw new IllegalArgumentException("--pool-group must be " + GROUP_V1 + " or " + GROUP_X
                    + ", got '" + poolGroup + "'");
        }
        if (!endpointSelector.isEmpty() && (endpointTargetPorts.isEmpty()
                || endpointTargetPorts.size() > MAX_TARGET_PORTS)) {
            throw new IllegalArgumentException("--endpoint-target-ports needs 1 to " + MAX_TARGET_PORTS
                    + " ports with --endpoint-selector, got " + endpointTargetPorts.size());
        }
        if (leaseDuration.compareTo(renewDeadline) <= 0 || renewDeadline.compareTo(retryPeriod) <= 0
                || leaseDuration.toSeconds() < 1) {
            throw new IllegalArgumentException("leader election needs lease duration (whole seconds, >= 1 s) >"
                    + " renew deadline > retry period, got " + leaseDuration + " / " + renewDeadline + " / "
                    + retryPeriod);
        }
    }

    /** Watches the named InferencePool (GAIE's usual mode). */
    public static PoolOptions forPool(String poolName, String namespace, String poolGroup) {
        return new PoolOptions(poolName, namespace, poolGroup, Map.of(), List.of(), false, HaMode.ACTIVE_PASSIVE,
                Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2), defaultIdentity(),
                Duration.ofSeconds(1));
    }

    /**
     * Watches pods by label, without any CRD (GAIE's standalone mode). The pool name is the Deployment name
     * derived from {@code podName} (env {@code POD_NAME}), else {@code epp-standalone}.
     */
    public static PoolOptions standalone(Map<String, String> selector, List<Integer> targetPorts, String namespace,
                                         String podName) {
        if (selector.isEmpty()) {
            throw new IllegalArgumentException("--endpoint-selector must name at least one label");
        }
        return new PoolOptions(deploymentNameOf(podName), namespace, GROUP_V1, selector, targetPorts, false,
                HaMode.ACTIVE_PASSIVE, Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2),
                defaultIdentity(), Duration.ofSeconds(1));
    }

    public boolean isStandalone() {
        return !endpointSelector.isEmpty();
    }

    /** Whether a Lease is taken: leader election on and active-passive mode. */
    public boolean takesLease() {
        return leaderElection && haMode == HaMode.ACTIVE_PASSIVE;
    }

    /** GAIE's Lease name: {@code epp-<namespace>-<poolName>.gateway-api-inference-extension.sigs.k8s.io}. */
    public String leaseName() {
        return "epp-" + namespace + "-" + poolName + ".gateway-api-inference-extension.sigs.k8s.io";
    }

    public PoolOptions withLeaderElection(boolean enabled, HaMode mode) {
        return new PoolOptions(poolName, namespace, poolGroup, endpointSelector, endpointTargetPorts, enabled, mode,
                leaseDuration, renewDeadline, retryPeriod, identity, watchCheckInterval);
    }

    public PoolOptions withLeaseTimings(Duration lease, Duration renew, Duration retry) {
        return new PoolOptions(poolName, namespace, poolGroup, endpointSelector, endpointTargetPorts, leaderElection,
                haMode, lease, renew, retry, identity, watchCheckInterval);
    }

    public PoolOptions withIdentity(String newIdentity) {
        return new PoolOptions(poolName, namespace, poolGroup, endpointSelector, endpointTargetPorts, leaderElection,
                haMode, leaseDuration, renewDeadline, retryPeriod, newIdentity, watchCheckInterval);
    }

    public PoolOptions withWatchCheckInterval(Duration interval) {
        return new PoolOptions(poolName, namespace, poolGroup, endpointSelector, endpointTargetPorts, leaderElection,
                haMode, leaseDuration, renewDeadline, retryPeriod, identity, interval);
    }

    /** {@code --pool-namespace} if given, else env {@code NAMESPACE}, else {@code default} (GAIE's order). */
    public static String resolveNamespace(String flagValue, Map<String, String> env) {
        if (flagValue != null && !flagValue.isBlank()) {
            return flagValue.trim();
        }
        String fromEnv = env.get("NAMESPACE");
        return fromEnv != null && !fromEnv.isBlank() ? fromEnv.trim() : "default";
    }

    /** Parses {@code k=v,k2=v2}; rejects empty keys, missing {@code =} and duplicate keys. */
    public static Map<String, String> parseSelector(String text) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            return labels;
        }
        for (String part : text.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--endpoint-selector expects k=v[,k2=v2], got '" + text + "'");
            }
            String key = p.substring(0, eq).trim();
            String value = p.substring(eq + 1).trim();
            if (labels.put(key, value) != null) {
                throw new IllegalArgumentException("--endpoint-selector repeats label '" + key + "'");
            }
        }
        return labels;
    }

    /** Parses {@code 8000,8001}: 1–8 ports in 1..65535, duplicates dropped (GAIE deduplicates). */
    public static List<Integer> parsePorts(String text) {
        Set<Integer> ports = new LinkedHashSet<>();
        if (text != null && !text.isBlank()) {
            for (String part : text.split(",")) {
                int port;
                try {
                    port = Integer.parseInt(part.trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--endpoint-target-ports expects numbers, got '" + text + "'");
                }
                if (port < 1 || port > 65535) {
                    throw new IllegalArgumentException("--endpoint-target-ports: " + port + " is not a port");
                }
                ports.add(port);
            }
        }
        if (ports.isEmpty() || ports.size() > MAX_TARGET_PORTS) {
            throw new IllegalArgumentException("--endpoint-target-ports needs 1 to " + MAX_TARGET_PORTS
                    + " ports, got '" + text + "'");
        }
        return new ArrayList<>(ports);
    }

    /** GAIE's standalone pool name: the Deployment name from a pod name {@code <deploy>-<rs hash>-<suffix>}. */
    static String deploymentNameOf(String podName) {
        if (podName == null || podName.isBlank()) {
            return "epp-standalone";
        }
        Matcher m = DEPLOYMENT_FROM_POD.matcher(podName);
        return m.matches() ? m.group(1) : podName;
    }

    private static String defaultIdentity() {
        String pod = System.getenv("POD_NAME");
        if (pod != null && !pod.isBlank()) {
            return pod + "_" + UUID.randomUUID();
        }
        String host = Optional.ofNullable(System.getenv("HOSTNAME")).filter(h -> !h.isBlank()).orElse("epp4j");
        return host + "_" + UUID.randomUUID();
    }
}
