package io.epp4j.scorers.load;

import java.util.concurrent.ConcurrentHashMap;

/**
 * How fast each endpoint has served its requests: nanoseconds from a request's pick to its first response bytes per
 * token of work the scorer counted for it there, a ratio of exponentially decayed sums over the endpoint's recent
 * requests (each older sample counts {@link #DECAY} times as much as the next), and the same over the whole pool.
 * A ratio of sums rather than a mean of ratios, so that a request with a long prompt, whose time is mostly
 * prefill, counts for more than a tiny one, whose time is mostly where the engine's step happened to be.
 * Thread-safe.
 */
final class EndpointSpeed {

    static final double DECAY = 0.95;
    /** Samples an endpoint needs before its own rate is used instead of the pool's. */
    static final int MIN_SAMPLES = 4;
    /** An endpoint not heard from in this long is forgotten (gone, or idle long enough to have changed). */
    static final long FORGET_NANOS = 600_000_000_000L;

    /** One endpoint's (or the pool's) decayed sums; the rate is published for lock-free reads. */
    private static final class Rate {
        double nanos;
        double work;
        long samples;
        long lastNanos;
        /** 0 until {@link #MIN_SAMPLES} came in. */
        volatile double nanosPerToken;

        void add(double work, long nanos, long now) {
            this.nanos = this.nanos * DECAY + nanos;
            this.work = this.work * DECAY + work;
            lastNanos = now;
            if (++samples >= MIN_SAMPLES) {
                nanosPerToken = this.nanos / this.work;
            }
        }
    }

    private final ConcurrentHashMap<String, Rate> endpoints = new ConcurrentHashMap<>();
    private final Rate pool = new Rate();

    /**
     * Adds one request answered by {@code endpoint} at {@code now} (the scorer's ticker): {@code work} tokens ahead
     * of it took {@code nanos}.
     */
    void observe(String endpoint, double work, long nanos, long now) {
        if (!(work > 0) || nanos <= 0) {
            return;
        }
        endpoints.compute(endpoint, (k, r) -> {
            Rate rate = r == null || now - r.lastNanos > FORGET_NANOS ? new Rate() : r;
            rate.add(work, nanos, now);
            return rate;
        });
        synchronized (pool) {
            pool.add(work, nanos, now);
        }
    }

    /**
     * {@code endpoint}'s nanoseconds per token of work over the pool's: above 1 for an endpoint slower than the pool,
     * 1 while either is unknown.
     */
    double relativeNanosPerToken(String endpoint) {
        double poolRate = pool.nanosPerToken;
        Rate r = endpoints.get(endpoint);
        double rate = r == null ? 0 : r.nanosPerToken;
        return rate > 0 && poolRate > 0 ? rate / poolRate : 1.0;
    }
}
