package io.epp4j.epp.logging;

import io.epp4j.epp.MainProcessTest;
import io.epp4j.epp.extproc.Await;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --zap-encoder json}: every log line of the process is one JSON object; request lines carry the id. */
class JsonLogsTest {

    @Test
    @SuppressWarnings("unchecked")
    void everyLineIsJsonAndRequestLinesCarryTheRequestId(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("epp.log");
        Process p = MainProcessTest.launchLogged(log, "--endpoints=10.0.0.1:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false", "--zap-encoder", "json",
                "--v", "4");
        try {
            Matcher started = MainProcessTest.awaitStartLine(p, log);
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", Integer.parseInt(started.group(1)),
                    InsecureChannelCredentials.create()).build();
            try {
                byte[] body = Messages.chatBody("m", false, 10);
                GatewayStream ok = GatewayStream.open(channel).send(Messages.requestHeaders(Dialect.ENVOY,
                        Messages.post("/v1/chat/completions", body.length, "x-request-id", "req-json-1"), false,
                        Messages.fullDuplex())).send(Messages.requestBodyChunks(body, 1000, null));
                ok.next();
                ok.cancel();
                byte[] bad = Messages.utf8("{not json");
                GatewayStream rejected = GatewayStream.open(channel).send(Messages.requestHeaders(Dialect.ENVOY,
                        Messages.post("/v1/chat/completions", bad.length, "x-request-id", "req-json-2"), false,
                        Messages.fullDuplex())).send(Messages.requestBodyChunks(bad, 1000, null));
                assertEquals(400, rejected.next().getImmediateResponse().getStatus().getCodeValue());
                Await.until("the rejection is logged", () -> MainProcessTest.read(log).contains("req-json-2"));
            } finally {
                channel.shutdownNow();
            }
            p.destroy();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            Load json = new Load(LoadSettings.builder().build());
            int requestLines = 0;
            for (String line : MainProcessTest.read(log).split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                assertTrue(line.startsWith("{") && line.endsWith("}"), "not a JSON line: " + line);
                Map<String, Object> event = (Map<String, Object>) json.loadFromString(line);
                assertTrue(event.keySet().containsAll(List.of("ts", "level", "logger", "msg")), line);
                for (String id : List.of("req-json-1", "req-json-2")) {
                    if (((String) event.get("msg")).contains(id)) {
                        assertEquals(id, event.get("x-request-id"), line);
                        requestLines++;
                    }
                }
            }
            assertTrue(requestLines >= 2, "both requests were logged");
            assertFalse(MainProcessTest.read(log).contains("SLF4J"), "one logging backend, no warnings");
        } finally {
            p.destroyForcibly();
        }
    }
}
