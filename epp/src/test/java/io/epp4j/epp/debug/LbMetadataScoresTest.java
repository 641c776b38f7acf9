package io.epp4j.epp.debug;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --lb-metadata-scores}: every candidate's weighted score rides in the pick's {@code envoy.lb} metadata. */
@SuppressWarnings("unchecked")
class LbMetadataScoresTest {

    private static Map<String, Value> scores(ProcessingResponse answer) {
        Struct lb = answer.getDynamicMetadata().getFieldsOrThrow("envoy.lb").getStructValue();
        Value v = lb.getFieldsMap().get("x-gateway-endpoint-scores");
        return v == null ? null : v.getStructValue().getFieldsMap();
    }

    @Test
    void withTheFlagThePickCarriesEveryCandidatesScoreAsTheDecisionLogHasIt() throws Exception {
        try (DebugFixture f = new DebugFixture("--lb-metadata-scores")) {
            DebugFixture.Started s = f.start("req-scored", "m");
            Map<String, Value> scores = scores(s.headersAnswer());
            assertEquals(Messages.destinationMetadata(s.headersAnswer()), s.destination());
            assertEquals(Set.copyOf(f.addresses), scores.keySet());
            double best = scores.values().stream().mapToDouble(Value::getNumberValue).max().orElseThrow();
            assertEquals(best, scores.get(s.destination()).getNumberValue(), "the pick has the best score");
            s.finish(3);

            Map<String, Object> r = ((List<Map<String, Object>>) f.json("/debug/decisions").get("requests")).get(0);
            Map<String, Object> profile = ((List<Map<String, Object>>) r.get("profiles")).get(0);
            for (Map<String, Object> c : (List<Map<String, Object>>) profile.get("endpoints")) {
                assertEquals(((Number) c.get("total")).doubleValue(),
                        scores.get((String) c.get("endpoint")).getNumberValue(), 1e-9);
            }
        }
    }

    @Test
    void bufferedModeCarriesTheScoresOnTheBodyAnswer() throws Exception {
        try (DebugFixture f = new DebugFixture("--lb-metadata-scores")) {
            byte[] body = Messages.chatBody("m", false, 10);
            GatewayStream s = f.epp.chatHeaders(Dialect.ENVOY, body,
                    Messages.mode(BodySendMode.BUFFERED, BodySendMode.NONE));
            s.next(); // headers: CONTINUE
            s.send(Messages.requestBody(body, true, null));
            ProcessingResponse answer = s.next();
            assertTrue(answer.hasRequestBody());
            assertEquals(3, scores(answer).size());
            s.cancel();
        }
    }

    @Test
    void withoutTheFlagOnlyTheDestinationIsSent() throws Exception {
        try (DebugFixture f = new DebugFixture()) {
            DebugFixture.Started s = f.start("req-plain", "m");
            Struct lb = s.headersAnswer().getDynamicMetadata().getFieldsOrThrow("envoy.lb").getStructValue();
            assertEquals(Set.of(Messages.DESTINATION), lb.getFieldsMap().keySet());
            assertFalse(lb.getFieldsMap().containsKey("x-gateway-endpoint-scores"));
            s.finish(1);
        }
    }
}
