package io.epp4j.spi;

import java.util.List;
import java.util.Map;

/**
 * Decides which scheduling profiles run for a request and which profile's pick routes it. Exactly one per
 * configuration; called concurrently for different requests; must not block.
 */
public interface ProfileHandler extends Plugin {

    /**
     * Returns the names of the profiles to run next (a subset of {@code profiles} not yet in {@code results}),
     * or an empty list when scheduling is complete. {@code results} maps each profile that already ran to its
     * picked endpoints (empty when the profile found none). Called repeatedly until it returns an empty list.
     */
    List<String> pickProfiles(CycleState state, InferenceRequest request, List<String> profiles,
                              Map<String, List<Endpoint>> results);

    /**
     * Returns the profile whose pick routes the request, or null when there is none (the request then fails with
     * a scheduling error, answered 429).
     */
    String primaryProfile(CycleState state, InferenceRequest request, Map<String, List<Endpoint>> results);

    /**
     * Capability: the most scheduling profiles this handler can serve; the loader rejects a configuration with
     * more. Default: no limit.
     */
    default int maxProfiles() {
        return Integer.MAX_VALUE;
    }

    /**
     * Capability: the endpoints the request is sent to, given what the primary profile picked (for example
     * llm-d's data-parallel handler replaces a rank's port with the pod's primary port, and names the rank in a
     * header). Default: the pick unchanged.
     */
    default List<Endpoint> routeTo(CycleState state, InferenceRequest request, List<Endpoint> picked) {
        return picked;
    }
}
