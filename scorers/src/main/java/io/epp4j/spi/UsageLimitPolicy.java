package io.epp4j.spi;

/**
 * Flow control's usage-limit policy as a plugin: one dispatch ceiling per active priority band. A band whose
 * ceiling is at or below the pool's saturation is not dispatched from in this cycle, and neither is any band below
 * it. Named by {@code flowControl.usageLimitPolicyPluginRef}. Called on flow control's dispatcher thread (and on
 * admission), with flow control's lock held: it must be quick and must not block.
 */
public interface UsageLimitPolicy extends Plugin {

    /**
     * Fills {@code ceilings[i]} for {@code priorities[i]} (highest priority first, at least one); 1.0 gates a band
     * only at saturation, 0.0 always.
     *
     * @param saturation the saturation detector's value for the whole pool (1.0 or more = saturated)
     */
    void ceilings(double saturation, int[] priorities, double[] ceilings);
}
