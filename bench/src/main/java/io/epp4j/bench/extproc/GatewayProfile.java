package io.epp4j.bench.extproc;

/** Which gateway's ext_proc dialect to speak (see reference/gateways.md §1 and §2.5). */
public enum GatewayProfile {
    /**
     * agentgateway: ordinary headers in {@code raw_value}, pseudo-headers in {@code value} placed last;
     * destination read from the {@code x-gateway-destination-endpoint} header as exactly one address;
     * {@code envoy.lb/x-gateway-destination-endpoint-served} metadata on the response side.
     */
    AGENTGATEWAY,
    /**
     * Envoy/Istio: every header in {@code raw_value}, pseudo-headers first; destination read from
     * {@code dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"]}, a comma list whose first entry is
     * used.
     */
    ENVOY;

    public static GatewayProfile parse(String name) {
        return switch (name) {
            case "agentgateway" -> AGENTGATEWAY;
            case "envoy", "istio" -> ENVOY;
            default -> throw new IllegalArgumentException("unknown gateway profile: " + name
                    + " (agentgateway, envoy)");
        };
    }
}
