package io.epp4j.epp.director;

import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.Random;

/**
 * Picks one candidate uniformly at random: the picker for requests without a body (GAIE does the same), and a
 * scheduler for tests. Thread-safe.
 */
public final class RandomScheduler implements RequestScheduler {

    private final Random random;

    /** A scheduler seeded for reproducible picks. */
    public RandomScheduler(long seed) {
        this(new Random(seed));
    }

    public RandomScheduler(Random random) {
        this.random = random;
    }

    @Override
    public ScheduledRequest schedule(InferenceRequest request, List<Endpoint> candidates) {
        return ScheduledRequest.of(new SchedulingResult("default", List.of(pick(candidates))));
    }

    /** One of {@code candidates} (non-empty), uniformly. */
    public Endpoint pick(List<Endpoint> candidates) {
        return candidates.get(random.nextInt(candidates.size()));
    }
}
