package io.epp4j.epp.bbr;

import java.util.Set;

/**
 * A body-based-routing plugin: one routing header from a request's top-level body fields (GAIE's BBR request
 * plugins). Thread-safe; never throws.
 */
public interface BbrPlugin {

    /** The top-level body fields {@link #value} reads. */
    Set<String> fields();

    /** The header it sets, lower-case. */
    String header();

    /** The header's value for this request, or null to leave the header unset. */
    String value(BbrRequest request);
}
