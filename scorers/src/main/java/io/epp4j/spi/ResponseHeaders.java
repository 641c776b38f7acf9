package io.epp4j.spi;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The response headers of one exchange as the gateway reported them, plus the headers plugins add. Used by one
 * thread at a time.
 */
public final class ResponseHeaders {

    /** The {@code envoy.lb} metadata key carrying the endpoint that actually served the request. */
    public static final String SERVED_ENDPOINT_KEY = "x-gateway-destination-endpoint-served";

    private final Map<String, String> received;
    private final Map<String, String> lbMetadata;
    private final Map<String, String> added = new LinkedHashMap<>();

    /**
     * @param received the response headers, lower-case names
     * @param lbMetadata the request's {@code envoy.lb} dynamic metadata (string values), or null when the gateway
     *     sent no such namespace
     */
    public ResponseHeaders(Map<String, String> received, Map<String, String> lbMetadata) {
        this.received = Map.copyOf(received);
        this.lbMetadata = lbMetadata == null ? null : Map.copyOf(lbMetadata);
    }

    public Map<String, String> received() {
        return received;
    }

    /** The {@code envoy.lb} metadata, or null when the gateway sent none. */
    public Map<String, String> lbMetadata() {
        return lbMetadata;
    }

    /** Sets (or replaces) a header sent back to the client. */
    public void set(String name, String value) {
        added.put(name.toLowerCase(java.util.Locale.ROOT), value);
    }

    /** The headers plugins set, in insertion order. */
    public Map<String, String> added() {
        return Map.copyOf(added);
    }
}
