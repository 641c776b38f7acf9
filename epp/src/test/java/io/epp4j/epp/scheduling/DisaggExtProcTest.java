package io.epp4j.epp.scheduling;

import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.config.ConfigLoaderTestAccess;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.spi.EndpointInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static io.epp4j.gatewaykit.Messages.setHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A P/D pool behind the ext_proc server: the gateway is told the decode pod and the prefill pod's header. */
class DisaggExtProcTest {

    static EndpointInfo pod(int i, String role) {
        return new EndpointInfo("pod-" + i + "-rank-0", "ns", "pod-" + i, "10.0.0." + i, 8000,
                Map.of("llm-d.ai/role", role));
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IN_PROCESS", "TCP"})
    void gatewayGetsTheDecodePodAndThePrefillHeaderWithTheClientsCopyRemoved(Transport transport) throws Exception {
        EppServer.Components components = EppServer.Components.defaults().endpointSource(c -> {
            c.endpointStore().replaceAll(List.of(pod(1, "prefill"), pod(2, "decode")));
            c.endpointStore().setSynced(true);
            return () -> { };
        });
        String config = ConfigLoaderTestAccess.resource("llm-d-pd.yaml");
        try (EppFixture epp = EppFixture.start(transport, components, "--pool-name=pool",
                "--config-text=" + config)) {
            String prompt = "please summarise this long report ".repeat(20);
            byte[] body = ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            GatewayStream s = epp.post(Dialect.ENVOY, "/v1/chat/completions", body, 1000, null,
                    "x-prefiller-host-port", "attacker:1");
            HeaderMutation m = s.next().getRequestHeaders().getResponse().getHeaderMutation();
            assertEquals("10.0.0.2:8000", setHeader(m, "x-gateway-destination-endpoint"));
            assertEquals("10.0.0.1:8000", setHeader(m, "x-prefiller-host-port"));
            s.cancel();

            GatewayStream shortOne = epp.post(Dialect.ENVOY, "/v1/chat/completions",
                    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                            .getBytes(StandardCharsets.UTF_8), 1000, null, "x-prefiller-host-port", "attacker:1");
            HeaderMutation d = shortOne.next().getRequestHeaders().getResponse().getHeaderMutation();
            assertEquals("10.0.0.2:8000", setHeader(d, "x-gateway-destination-endpoint"));
            assertNull(setHeader(d, "x-prefiller-host-port"));
            assertTrue(d.getRemoveHeadersList().contains("x-prefiller-host-port"), d.toString());
            shortOne.cancel();
            String metrics = epp.metricsText();
            assertTrue(metrics.contains("llm_d_epp_disagg_decision_total{decision_type=\"decode-only\""), metrics);
        }
    }
}
