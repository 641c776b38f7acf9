package io.epp4j.epp.director;

import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.Random;

/**
 * Picks one candidate uniformly at random: the placeholder scheduler used until the plugin scheduler is wired,
 * and the picker for header-only requests (GAIE does the same). Thread-safe.
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
    public SchedulingResult schedule(InferenceRequest request, List<Endpoint> candidates) {
        return new SchedulingResult("default", List.of(pick(candidates)));
    }

    /** One of {@code candidates} (non-empty), uniformly. */
    public Endpoint pick(List<Endpoint> candidates) {
        return candidates.get(random.nextInt(candidates.size()));
    }
}
