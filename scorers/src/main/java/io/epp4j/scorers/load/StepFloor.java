package io.epp4j.scorers.load;

import io.epp4j.spi.Endpoint;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each endpoint's quickest recent engine step, as its streamed responses show it: a low envelope over the intervals
 * between one request's consecutive chunks that drops to a shorter interval at once and rises toward longer ones by
 * {@link #RISE} of the difference an interval. A step's length is its fixed cost (reading the weights, scheduling)
 * plus what it batched; the quickest steps batched little, so their length says how fast the hardware is rather
 * than how busy the endpoint was or whose prefill shared its steps. Thread-safe: one endpoint's floor changes only
 * inside the map's compute functions and is read through volatile fields.
 */
final class StepFloor {

    /** Share of the difference to a longer interval the floor rises by, per interval. */
    static final double RISE = 0.01;
    /** An endpoint with no interval in this long is forgotten (idle, gone, or not streaming). */
    static final long FORGET_NANOS = 60_000_000_000L;

    private static final class Floor {
        volatile double nanos;
        volatile long atNanos;
    }

    private final ConcurrentHashMap<String, Floor> floors = new ConcurrentHashMap<>();

    /** One of {@code endpoint}'s streams saw {@code stepNanos} between two chunks, the later at {@code now}. */
    void observe(String endpoint, long stepNanos, long now) {
        if (stepNanos <= 0) {
            return;
        }
        floors.compute(endpoint, (k, f) -> {
            Floor floor = f == null ? new Floor() : f;
            double last = floor.nanos;
            floor.nanos = f == null || now - floor.atNanos > FORGET_NANOS || stepNanos < last ? stepNanos
                    : last + RISE * (stepNanos - last);
            floor.atNanos = now;
            return floor;
        });
    }

    /**
     * Per candidate, its floor over the quickest candidate's, or 1 where that is below {@code 1 + tolerance} (floors
     * learnt from different batches differ a little on identical hardware, and a short prompt's score must not tip
     * on that) and where a floor is unknown or forgotten.
     */
    double[] slowness(List<Endpoint> endpoints, long now, double tolerance) {
        int n = endpoints.size();
        double[] floor = new double[n];
        double quickest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            String name = endpoints.get(i).info().name();
            Floor f = floors.get(name);
            if (f != null && now - f.atNanos > FORGET_NANOS) {
                floors.remove(name, f);
                f = null;
            }
            floor[i] = f == null ? 0 : f.nanos;
            if (floor[i] > 0) {
                quickest = Math.min(quickest, floor[i]);
            }
        }
        for (int i = 0; i < n; i++) {
            double ratio = floor[i] > 0 ? floor[i] / quickest : 1.0;
            floor[i] = ratio < 1.0 + tolerance ? 1.0 : ratio;
        }
        return floor;
    }
}
