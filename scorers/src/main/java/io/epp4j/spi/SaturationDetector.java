package io.epp4j.spi;

import java.util.List;

/**
 * Estimates how saturated a set of endpoints is: 0 is idle, 1.0 or more is saturated. Used for legacy admission
 * (sheddable requests are dropped at saturation ≥ 1.0). Thread-safe; must not block.
 */
public interface SaturationDetector extends Plugin {

    double saturation(List<Endpoint> endpoints);
}
