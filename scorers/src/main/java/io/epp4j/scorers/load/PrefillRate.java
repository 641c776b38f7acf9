package io.epp4j.scorers.load;

/**
 * How long the pool's model servers take to prefill a prompt, learnt from the requests they answered:
 * {@code duration = fixedNanos + tokens × nanosPerToken}, an exponentially weighted least-squares fit over the
 * most recent samples (each older sample counts {@link #DECAY} times as much as the next). Thread-safe; readers
 * see an immutable fit.
 */
final class PrefillRate {

    static final double DECAY = 0.98;
    /** Samples needed before the fit is used. */
    static final int MIN_SAMPLES = 16;

    /** A fitted line; {@code NONE} until enough samples came in. */
    record Fit(double fixedNanos, double nanosPerToken) {
        static final Fit NONE = new Fit(0, 0);

        /** Tokens prefilled after {@code elapsedNanos} of one request's prefill (0 without a fit). */
        double tokensDoneAfter(long elapsedNanos) {
            if (nanosPerToken <= 0 || elapsedNanos <= fixedNanos) {
                return 0;
            }
            return (elapsedNanos - fixedNanos) / nanosPerToken;
        }
    }

    private double weight;
    private double sumTokens;
    private double sumNanos;
    private double sumTokensSquared;
    private double sumTokensTimesNanos;
    private long samples;
    private volatile Fit fit = Fit.NONE;

    /** Adds one request's prefill: {@code tokens} took {@code nanos} from its start to its first response bytes. */
    synchronized void observe(long tokens, long nanos) {
        if (tokens < 0 || nanos <= 0) {
            return;
        }
        weight = weight * DECAY + 1;
        sumTokens = sumTokens * DECAY + tokens;
        sumNanos = sumNanos * DECAY + nanos;
        sumTokensSquared = sumTokensSquared * DECAY + (double) tokens * tokens;
        sumTokensTimesNanos = sumTokensTimesNanos * DECAY + (double) tokens * nanos;
        if (++samples >= MIN_SAMPLES) {
            fit = solve();
        }
    }

    Fit fit() {
        return fit;
    }

    private Fit solve() {
        double meanTokens = sumTokens / weight;
        double meanNanos = sumNanos / weight;
        double varianceTokens = sumTokensSquared / weight - meanTokens * meanTokens;
        double covariance = sumTokensTimesNanos / weight - meanTokens * meanNanos;
        // prompts of (nearly) one size say nothing about the slope: then all of the time is per token
        if (varianceTokens > 1e-9 * Math.max(1, meanTokens * meanTokens) && covariance > 0) {
            double slope = covariance / varianceTokens;
            double intercept = meanNanos - slope * meanTokens;
            if (intercept >= 0) {
                return new Fit(intercept, slope);
            }
        }
        return meanTokens > 0 ? new Fit(0, meanNanos / meanTokens) : Fit.NONE;
    }
}
