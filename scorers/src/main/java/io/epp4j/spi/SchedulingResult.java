package io.epp4j.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of scheduling one request: the chosen endpoints of the primary profile, best first, and what every
 * profile that ran picked (P/D: the decode profile routes the request, the prefill profile's pick rides along in a
 * header).
 *
 * @param primaryProfile name of the profile whose pick is used for routing
 * @param targets the chosen endpoints, primary first; never empty (after the profile handler's
 *     {@link ProfileHandler#routeTo} rewrite, e.g. a data-parallel rank's port replaced by the primary port)
 * @param profileResults each profile that ran, in the order it ran, to its picked endpoints as the picker chose
 *     them (empty when it found none)
 */
public record SchedulingResult(String primaryProfile, List<Endpoint> targets,
                               Map<String, List<Endpoint>> profileResults) {

    public SchedulingResult {
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a scheduling result needs at least one target");
        }
        Map<String, List<Endpoint>> copy = new LinkedHashMap<>();
        profileResults.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        profileResults = Collections.unmodifiableMap(copy);
    }

    /** A result of one profile. */
    public SchedulingResult(String primaryProfile, List<Endpoint> targets) {
        this(primaryProfile, targets, Map.of(primaryProfile, targets));
    }

    public Endpoint primary() {
        return targets.get(0);
    }

    /** What profile {@code name} picked: empty when it did not run or found nothing. */
    public List<Endpoint> profile(String name) {
        return profileResults.getOrDefault(name, List.of());
    }
}
