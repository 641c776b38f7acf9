package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static io.epp4j.epp.extproc.Messages.*;
import static org.junit.jupiter.api.Assertions.*;

class SmokeTest {

    @ParameterizedTest
    @EnumSource(EppFixture.Transport.class)
    void picksTheOnlyEndpointAndEchoesTheBody(EppFixture.Transport transport) throws Exception {
        try (EppFixture epp = EppFixture.start(transport, "--endpoints=10.0.0.1:8000")) {
            byte[] body = chatBody("llama", false, 100);
            GatewayStream s = epp.open();
            s.send(requestHeaders(Profile.ISTIO, post("/v1/chat/completions", body.length), false, fullDuplex()));
            s.send(requestBodyChunks(body, 16, null));
            ProcessingResponse headers = s.next();
            assertTrue(headers.hasRequestHeaders(), headers.toString());
            assertEquals("10.0.0.1:8000", setHeader(headers.getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));
            List<ProcessingResponse> chunks = s.nextUntilBodyEnd(true);
            assertArrayEquals(body, streamedBody(chunks, true));
            s.halfClose();
            s.awaitClose();
        }
    }
}
