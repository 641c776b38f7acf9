package io.epp4j.epp.scrape;

/**
 * Turns one endpoint's cumulative prefix-cache counters into a hit rate, Δhits/Δqueries between consecutive
 * scrapes; used by one scrape loop at a time (not thread-safe).
 *
 * <p>NaN until two scrapes were seen. A counter that went down means the model server restarted: like
 * Prometheus' {@code rate()}, the new value itself is the increase since the reset. An interval without
 * queries carries no information and keeps the previous rate, so an idle server does not flicker to NaN.
 */
public final class PrefixCacheRate {

    private double lastQueries = Double.NaN;
    private double lastHits = Double.NaN;
    private double rate = Double.NaN;

    /** Feeds the counters of a new scrape and returns the current hit rate in [0,1], or NaN. */
    public double update(double queries, double hits) {
        if (!Double.isFinite(queries) || !Double.isFinite(hits) || queries < 0 || hits < 0) {
            return rate;
        }
        if (!Double.isNaN(lastQueries)) {
            double dq = queries - lastQueries;
            double dh = hits - lastHits;
            if (dq < 0 || dh < 0) {
                dq = queries;
                dh = hits;
            }
            if (dq > 0) {
                rate = Math.max(0, Math.min(1, dh / dq));
            }
        }
        lastQueries = queries;
        lastHits = hits;
        return rate;
    }

    public double rate() {
        return rate;
    }
}
