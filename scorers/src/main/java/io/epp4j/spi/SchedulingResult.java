package io.epp4j.spi;

import java.util.List;

/**
 * The outcome of scheduling one request: the chosen endpoints of the primary profile, best first.
 *
 * @param primaryProfile name of the profile whose pick is used for routing
 * @param targets the chosen endpoints, primary first; never empty
 */
public record SchedulingResult(String primaryProfile, List<Endpoint> targets) {

    public SchedulingResult {
        targets = List.copyOf(targets);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a scheduling result needs at least one target");
        }
    }

    public Endpoint primary() {
        return targets.get(0);
    }
}
