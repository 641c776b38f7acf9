package io.epp4j.gatewaykit;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;

import java.util.Locale;

/**
 * How a gateway speaks ext_proc to an EPP: where header values go, what metadata it forwards on the response
 * side, and where it reads the EPP's pick from. Every dialect opens one stream per HTTP request and streams both
 * bodies in FULL_DUPLEX_STREAMED mode.
 */
public enum Dialect {
    /**
     * agentgateway (and kgateway 2.1 and later): ordinary headers in {@code raw_value}, the pseudo-headers in
     * {@code value} after them; the pick is read from the {@code x-gateway-destination-endpoint} header as exactly
     * one address (a list is refused with 503); {@code envoy.lb/x-gateway-destination-endpoint-served} on every
     * response-side message.
     */
    AGENTGATEWAY,
    /**
     * Istio: every header in {@code raw_value}; the pick is read from
     * {@code dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"]} (a comma list, the first is used);
     * the whole {@code envoy.lb} namespace (destination and served endpoint) comes back on the response side.
     */
    ISTIO,
    /**
     * Envoy AI Gateway: every header in {@code raw_value}; the pick is read from the header (one address, an
     * ORIGINAL_DST cluster); no metadata either way.
     */
    ENVOY_AI_GATEWAY,
    /**
     * A plain Envoy configured as GAIE's reference config does: as Envoy AI Gateway (header, ORIGINAL_DST, no
     * metadata).
     */
    ENVOY;

    /** {@code agentgateway}, {@code istio}, {@code envoy-ai-gateway} or {@code envoy}. */
    public static Dialect parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "agentgateway" -> AGENTGATEWAY;
            case "istio" -> ISTIO;
            case "envoy-ai-gateway" -> ENVOY_AI_GATEWAY;
            case "envoy" -> ENVOY;
            default -> throw new IllegalArgumentException("unknown gateway dialect: " + name
                    + " (agentgateway, istio, envoy-ai-gateway, envoy)");
        };
    }

    /** The name {@link #parse} takes. */
    public String flagValue() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether pseudo-headers travel in {@code value} (after the others) rather than {@code raw_value}. */
    boolean pseudoHeadersInValue() {
        return this == AGENTGATEWAY;
    }

    /**
     * The {@code metadata_context} on response-side messages, or null when this gateway forwards none.
     *
     * @param served the address the gateway dialled
     * @param destination what the EPP picked (Istio forwards it back with the namespace)
     */
    public Metadata responseMetadata(String served, String destination) {
        Struct.Builder lb = Struct.newBuilder();
        switch (this) {
            case AGENTGATEWAY -> lb.putFields(Messages.SERVED_KEY, Value.newBuilder().setStringValue(served).build());
            case ISTIO -> {
                if (destination != null) {
                    lb.putFields(Messages.DESTINATION, Value.newBuilder().setStringValue(destination).build());
                }
                lb.putFields(Messages.SERVED_KEY, Value.newBuilder().setStringValue(served).build());
            }
            default -> {
                return null;
            }
        }
        return Metadata.newBuilder().putFilterMetadata(Messages.LB_NAMESPACE, lb.build()).build();
    }

    /**
     * The address this gateway routes to from the EPP's request-headers answer, as the gateway reads it: the
     * header (one address), or for Istio the first entry of the metadata list.
     *
     * @throws IllegalArgumentException with the gateway's reason when it would refuse the answer (status 503)
     */
    public String destination(ProcessingResponse headersAnswer) {
        String raw = this == ISTIO ? Messages.destinationMetadata(headersAnswer)
                : Messages.setHeaderValue(headersAnswer.getRequestHeaders().getResponse().getHeaderMutation(),
                        Messages.DESTINATION);
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException("EPP selected no destination");
        }
        String dest = raw.trim();
        if (this == ISTIO) {
            return dest.split(",")[0].trim();
        }
        if (!isSocketAddress(dest)) {
            throw new IllegalArgumentException("EPP returned invalid address '" + dest + "'");
        }
        return dest;
    }

    private static boolean isSocketAddress(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || s.indexOf(',') >= 0 || s.indexOf(' ') >= 0) {
            return false;
        }
        try {
            int port = Integer.parseInt(s.substring(colon + 1));
            return port > 0 && port < 65536;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
