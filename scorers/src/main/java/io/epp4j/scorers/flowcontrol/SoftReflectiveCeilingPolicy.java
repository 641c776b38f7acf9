package io.epp4j.scorers.flowcontrol;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.UsageLimitPolicy;

/**
 * {@code soft-reflective-ceiling-policy} (llm-d): the highest band's ceiling is 1.0; band {@code i} of {@code n}
 * is open while saturation is below {@code 1 - i × saturation / (n - 1)}. Past that "reflective" ceiling and below
 * saturation 1.0, every such band opens together on one call in {@code round(saturation / (1 - saturation))}, so
 * lower bands still drain, at a rate that falls as saturation rises; at saturation 1.0 or more they are closed.
 * One band: always open (below saturation 1.0). No parameters. The open/closed rotation is one counter shared by
 * all bands, so the calls see monotone ceilings across ranks. Thread-safe.
 */
public final class SoftReflectiveCeilingPolicy extends NamedPlugin implements UsageLimitPolicy {

    public static final String TYPE = "soft-reflective-ceiling-policy";

    private final java.util.concurrent.atomic.AtomicLong tick = new java.util.concurrent.atomic.AtomicLong();

    public SoftReflectiveCeilingPolicy(String name, PluginParameters parameters) {
        super(TYPE, name);
        if (!parameters.asMap().isEmpty()) {
            throw new IllegalArgumentException(TYPE + " takes no parameters, got " + parameters.asMap().keySet());
        }
    }

    @Override
    public void ceilings(double saturation, int[] priorities, double[] ceilings) {
        int n = priorities.length;
        if (n == 0) {
            return;
        }
        ceilings[0] = 1.0;
        if (n == 1) {
            return;
        }
        boolean open = false;
        if (saturation >= 1.0 - saturation && saturation < 1.0) {
            long period = Math.max(1, Math.round(saturation / (1.0 - saturation + 1e-9)));
            open = tick.incrementAndGet() % period == 0;
        }
        for (int i = 1; i < n; i++) {
            double reflective = 1.0 - i * saturation / (n - 1);
            if (saturation < reflective) {
                ceilings[i] = 1.0;
            } else if (saturation >= 1.0) {
                ceilings[i] = 0.0;
            } else {
                ceilings[i] = open ? 1.0 : 0.0;
            }
        }
    }
}
