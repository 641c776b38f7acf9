package io.epp4j.epp.plugins;

import io.epp4j.spi.Plugin;
import io.epp4j.spi.ResponseUsage;

import java.util.Map;

/**
 * Reports numbers about a finished response to the gateway: they ride as dynamic metadata on the ext_proc answer
 * that ends the response (its last body chunk, or its trailers), where the gateway can read them (for example for
 * per-request cost accounting). Called once per response, after its token usage is known, from the request's
 * stream; must be quick and must not block. Thread-safe.
 */
public interface ResponseAttributeReporter extends Plugin {

    /**
     * Adds this plugin's attributes for a response that reported {@code usage} to {@code into}: metadata namespace
     * to attribute name to value.
     */
    void report(ResponseUsage usage, Map<String, Map<String, Double>> into);
}
