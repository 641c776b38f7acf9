package io.epp4j.epp.logging;

import io.epp4j.epp.Main;
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

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --zap-encoder json}: every log line of the process is one JSON object; request lines carry the id. */
class JsonLogsTest {

    @Test
    @SuppressWarnings("unchecked")
    void everyLineIsJsonAndRequestLinesCarryTheRequestId(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("epp.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--endpoints=10.0.0.1:8000",
                "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false",
                "--zap-encoder", "json", "--v", "4"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Pattern ready = Pattern.compile("ext_proc on :(\\d+) ");
            Matcher[] m = new Matcher[1];
            Await.until("start-up line", () -> {
                Matcher candidate = ready.matcher(read(log));
                if (candidate.find()) {
                    m[0] = candidate;
                    return true;
                }
                return !p.isAlive();
            });
            assertTrue(m[0] != null, read(log));
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", Integer.parseInt(m[0].group(1)),
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
                Await.until("the rejection is logged", () -> read(log).contains("req-json-2"));
            } finally {
                channel.shutdownNow();
            }
            p.destroy();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            Load json = new Load(LoadSettings.builder().build());
            int requestLines = 0;
            for (String line : read(log).split("\n")) {
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
            assertFalse(read(log).contains("SLF4J"), "one logging backend, no warnings");
        } finally {
            p.destroyForcibly();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
