package io.epp4j.epp.scheduling;

import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.config.ConfigLoaderTestAccess;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.epp4j.gatewaykit.Messages.chatBody;
import static io.epp4j.gatewaykit.Messages.fullDuplex;
import static io.epp4j.gatewaykit.Messages.post;
import static io.epp4j.gatewaykit.Messages.requestBodyChunks;
import static io.epp4j.gatewaykit.Messages.requestHeaders;
import static io.epp4j.gatewaykit.Messages.responseHeaders;
import static io.epp4j.gatewaykit.Messages.served;
import static io.epp4j.gatewaykit.Messages.setHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The EPP built with its default components schedules with the EndpointPickerConfig from its flags. */
class EppServerSchedulingTest {

    static final String POOL = "--endpoints=10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000";

    @Test
    void conformanceConfigRoutesByTestHeaderAndReportsTheServedEndpoint() throws Exception {
        String config = ConfigLoaderTestAccess.resource("conformance-plugins.yaml");
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, POOL, "--config-text=" + config)) {
            for (String wanted : new String[] {"10.0.0.2", "10.0.0.3:8000"}) {
                byte[] body = chatBody("m", false, 10);
                GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null,
                        "test-epp-endpoint-selection", wanted);
                ProcessingResponse picked = s.next();
                String destination = setHeader(picked.getRequestHeaders().getResponse().getHeaderMutation(),
                        "x-gateway-destination-endpoint");
                assertEquals(wanted.contains(":") ? wanted : wanted + ":8000", destination);
                s.nextUntilBodyEnd(true);
                s.send(responseHeaders(Dialect.AGENTGATEWAY, Map.of(":status", "200",
                        "content-type", "application/json"), false, served(destination)));
                ProcessingResponse answer = s.next();
                assertEquals(destination, setHeader(answer.getResponseHeaders().getResponse().getHeaderMutation(),
                        "x-conformance-test-served-endpoint"));
                s.cancel();
            }

            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null);
            ImmediateResponse refused = s.next().getImmediateResponse();
            assertEquals(429, refused.getStatus().getCodeValue(), "no test header: every endpoint filtered out");
            s.cancel();
        }
    }

    @Test
    void defaultConfigIsServedWithoutFlagsAndExportsSchedulerMetrics() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, POOL)) {
            byte[] body = chatBody("m", false, 10);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null);
            assertTrue(setHeader(s.next().getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint").startsWith("10.0.0."));
            s.cancel();
            String text = TestPool.scrape(epp.server.registry());
            assertTrue(text.contains("plugin_type=\"prefix-cache-scorer\""), text);
            assertTrue(text.contains("inference_extension_scheduler_e2e_duration_seconds_count"), text);
        }
    }

    @Test
    void invalidConfigStopsStartupNamingLineAndField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EppServer.start(
                EppOptions.parse(new String[] {"--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                    "--secure-serving=false", POOL, "--config-text=apiVersion: llm-d.ai/v1alpha1\n"
                    + "kind: EndpointPickerConfig\nplugins:\n- type: warp-scorer\n"})));
        assertTrue(e.getMessage().contains("line 4: plugins[0].type: unknown plugin type 'warp-scorer'"),
                e.getMessage());
    }
}
