package io.epp4j.scorers.conformance;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseObserver;

/**
 * {@code destination-endpoint-served-verifier} (conformance tests only): sets response header
 * {@code x-conformance-test-served-endpoint} to the {@code envoy.lb} metadata value
 * {@code x-gateway-destination-endpoint-served} the gateway reported, or to a {@code fail: …} explanation.
 */
public final class DestinationEndpointServedVerifier extends NamedPlugin implements ResponseObserver {

    public static final String TYPE = "destination-endpoint-served-verifier";
    public static final String HEADER = "x-conformance-test-served-endpoint";

    public DestinationEndpointServedVerifier(String name) {
        super(TYPE, name);
    }

    @Override
    public void onResponseHeaders(CycleState state, InferenceRequest request, Endpoint target,
                                  ResponseHeaders response) {
        if (response.lbMetadata() == null) {
            response.set(HEADER, "fail: missing envoy lb metadata");
            return;
        }
        String served = response.lbMetadata().get(ResponseHeaders.SERVED_ENDPOINT_KEY);
        response.set(HEADER, served == null ? "fail: missing destination endpoint served metadata" : served);
    }
}
