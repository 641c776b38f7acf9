package io.epp4j.epp.k8s;

import io.epp4j.epp.director.ObjectiveResolver;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * InferenceObjective name → priority for one pool, rebuilt from the informer cache on every change and swapped
 * atomically; lookups never block.
 */
final class ObjectiveTable implements ObjectiveResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ObjectiveTable.class);

    private final String poolName;
    private final String poolGroup;
    private volatile Map<String, Integer> priorities = Map.of();

    ObjectiveTable(String poolName, String poolGroup) {
        this.poolName = poolName;
        this.poolGroup = poolGroup;
    }

    @Override
    public int priorityOf(String objectiveName) {
        if (objectiveName == null || objectiveName.isEmpty()) {
            return 0;
        }
        return priorities.getOrDefault(objectiveName, 0);
    }

    /** Replaces the table with the objectives (of any pool) currently cached; keeps those bound to this pool. */
    void rebuild(Collection<GenericKubernetesResource> objectives) {
        Map<String, Integer> next = new HashMap<>();
        for (GenericKubernetesResource o : objectives) {
            if (o.getMetadata().getDeletionTimestamp() != null || !PoolRef.refersTo(o, poolName, poolGroup)) {
                continue;
            }
            next.put(o.getMetadata().getName(), priorityOf(o));
        }
        priorities = Map.copyOf(next);
    }

    int size() {
        return priorities.size();
    }

    private static int priorityOf(GenericKubernetesResource objective) {
        Object value = objective.get("spec", "priority");
        if (value instanceof Number n) {
            return n.intValue();
        }
        if (value != null) {
            LOG.warn("InferenceObjective {}: spec.priority '{}' is not a number; using 0",
                    objective.getMetadata().getName(), value);
        }
        return 0; // unset => 0, as GAIE
    }
}
