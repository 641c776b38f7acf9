package io.epp4j.epp.k8s;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;

/** Reads {@code spec.poolRef} of an InferenceObjective or InferenceModelRewrite. */
final class PoolRef {

    private PoolRef() {
    }

    /**
     * Whether the resource's {@code spec.poolRef} names this pool: same name, and same group (an absent group
     * means the CRD default, {@code inference.networking.k8s.io}).
     */
    static boolean refersTo(GenericKubernetesResource resource, String poolName, String poolGroup) {
        Object name = resource.get("spec", "poolRef", "name");
        Object group = resource.get("spec", "poolRef", "group");
        String effectiveGroup = group == null || group.toString().isEmpty() ? PoolOptions.GROUP_V1 : group.toString();
        return poolName.equals(name) && poolGroup.equals(effectiveGroup);
    }
}
