package io.epp4j.epp.k8s;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The parts of an InferencePool the EPP acts on, whichever API version it came from; immutable.
 *
 * @param name        pool name
 * @param namespace   pool namespace (pods are only taken from it)
 * @param selector    pod labels that must all match (matchLabels semantics)
 * @param targetPorts one endpoint per port per pod, rank {@code i} serves {@code targetPorts[i]}
 * @param appProtocol {@code http} (default) or {@code kubernetes.io/h2c}
 */
public record PoolSpec(String name, String namespace, Map<String, String> selector, List<Integer> targetPorts,
                       String appProtocol) {

    public PoolSpec {
        selector = Map.copyOf(selector);
        targetPorts = List.copyOf(targetPorts);
    }

    /** Whether a pod resync is needed when going from {@code this} to {@code next} (GAIE: selector or ports). */
    boolean needsResyncTo(PoolSpec next) {
        return !selector.equals(next.selector) || !targetPorts.equals(next.targetPorts);
    }

    /**
     * Reads an {@code inference.networking.k8s.io/v1} pool: {@code spec.selector.matchLabels},
     * {@code spec.targetPorts[].number}, {@code spec.appProtocol}.
     *
     * @throws IllegalArgumentException when the spec violates the CRD's rules (no labels, 0 or more than 8 ports,
     *                                  a port out of range, duplicates)
     */
    static PoolSpec fromV1(GenericKubernetesResource pool) {
        Map<String, String> labels = stringMap(pool.get("spec", "selector", "matchLabels"));
        List<Integer> ports = new ArrayList<>();
        Object targetPorts = pool.get("spec", "targetPorts");
        if (targetPorts instanceof List<?> list) {
            for (Object item : list) {
                Object number = item instanceof Map<?, ?> m ? m.get("number") : null;
                ports.add(portOf(number));
            }
        }
        Object protocol = pool.get("spec", "appProtocol");
        return validated(pool, labels, ports, protocol == null ? "http" : protocol.toString());
    }

    /**
     * Reads an {@code inference.networking.x-k8s.io/v1alpha2} pool: {@code spec.selector} (a plain label map) and
     * {@code spec.targetPortNumber}; {@code spec.extensionRef} names this EPP and is not needed here.
     */
    static PoolSpec fromV1alpha2(GenericKubernetesResource pool) {
        Map<String, String> labels = stringMap(pool.get("spec", "selector"));
        Object port = pool.get("spec", "targetPortNumber");
        List<Integer> ports = port == null ? List.of() : List.of(portOf(port));
        return validated(pool, labels, ports, "http");
    }

    private static PoolSpec validated(GenericKubernetesResource pool, Map<String, String> labels,
                                      List<Integer> ports, String appProtocol) {
        String where = "InferencePool " + pool.getMetadata().getNamespace() + "/" + pool.getMetadata().getName();
        if (labels.isEmpty()) {
            throw new IllegalArgumentException(where + " has no selector labels");
        }
        if (ports.isEmpty() || ports.size() > PoolOptions.MAX_TARGET_PORTS) {
            throw new IllegalArgumentException(where + " needs 1 to 8 target ports, has " + ports.size());
        }
        if (new LinkedHashSet<>(ports).size() != ports.size()) {
            throw new IllegalArgumentException(where + " repeats a target port: " + ports);
        }
        return new PoolSpec(pool.getMetadata().getName(), pool.getMetadata().getNamespace(), labels, ports,
                appProtocol);
    }

    private static int portOf(Object value) {
        int port;
        if (value instanceof Number n) {
            port = n.intValue();
        } else if (value instanceof String s) {
            try {
                port = Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("target port '" + s + "' is not a number");
            }
        } else {
            throw new IllegalArgumentException("target port missing");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("target port " + port + " out of range");
        }
        return port;
    }

    private static Map<String, String> stringMap(Object value) {
        Map<String, String> out = new LinkedHashMap<>();
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> {
                if (k != null && v != null) {
                    out.put(k.toString(), v.toString());
                }
            });
        }
        return out;
    }
}
