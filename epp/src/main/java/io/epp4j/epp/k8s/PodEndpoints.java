package io.epp4j.epp.k8s;

import io.epp4j.spi.EndpointInfo;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Turns a pod into the endpoints it contributes to a pool (GAIE's rules); pure functions. */
final class PodEndpoints {

    /** Pod annotation restricting which of the pool's target ports are live on that pod (PR #2256). */
    static final String ACTIVE_PORTS_ANNOTATION = "inference.networking.k8s.io/active-ports";

    private PodEndpoints() {
    }

    /** The endpoint name of rank {@code rank} of a pod: {@code <pod>-rank-<i>}. */
    static String endpointName(String podName, int rank) {
        return podName + "-rank-" + rank;
    }

    /** Whether every selector label is on the pod with the same value. */
    static boolean matches(Map<String, String> selector, Map<String, String> podLabels) {
        if (podLabels == null) {
            return selector.isEmpty();
        }
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(podLabels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * The endpoints of {@code pod} in {@code pool}: one per active target port when the pod matches the selector,
     * is Ready, is not terminating and has an IP; none otherwise.
     */
    static List<EndpointInfo> of(PoolSpec pool, Pod pod) {
        if (pod == null || pod.getMetadata() == null) {
            return List.of();
        }
        Map<String, String> labels = pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
        if (!matches(pool.selector(), labels) || pod.getMetadata().getDeletionTimestamp() != null || !isReady(pod)) {
            return List.of();
        }
        String ip = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
        if (ip == null || ip.isBlank()) {
            return List.of();
        }
        Set<Integer> active = activePorts(pod, pool.targetPorts());
        String podName = pod.getMetadata().getName();
        List<EndpointInfo> out = new ArrayList<>(pool.targetPorts().size());
        for (int rank = 0; rank < pool.targetPorts().size(); rank++) {
            int port = pool.targetPorts().get(rank);
            if (active.contains(port)) {
                out.add(new EndpointInfo(endpointName(podName, rank), pool.namespace(), podName, ip, port, labels));
            }
        }
        return out;
    }

    /** Condition {@code Ready=True}. */
    static boolean isReady(Pod pod) {
        if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
            return false;
        }
        for (PodCondition c : pod.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    /**
     * The target ports live on this pod: all of them without the annotation; otherwise the annotated numbers that
     * are target ports (unknown or malformed entries are ignored, as GAIE does).
     */
    static Set<Integer> activePorts(Pod pod, List<Integer> targetPorts) {
        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(ACTIVE_PORTS_ANNOTATION);
        if (value == null) {
            return new HashSet<>(targetPorts);
        }
        Set<Integer> active = new HashSet<>();
        for (String part : value.split(",")) {
            try {
                int port = Integer.parseInt(part.trim());
                if (targetPorts.contains(port)) {
                    active.add(port);
                }
            } catch (NumberFormatException ignored) {
                // GAIE skips entries it cannot parse; so do we.
            }
        }
        return active;
    }
}
