package io.epp4j.bench.load;

import io.epp4j.bench.extproc.NoopExtProcServer;
import io.epp4j.gatewaykit.Dialect;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadGeneratorTest {

    private static double field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*([-0-9.eE]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void measuresTheEmbeddedEppAndTheNoopBaselineAndWritesTheReport(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        Path out = dir.resolve("load.json");
        int status = LoadGenerator.run(new String[] {"--target", "embedded", "--endpoints", "4", "--rps", "100",
                "--duration", "1", "--warmup", "0.5", "--compare-noop", "--out", out.toString()},
                new PrintStream(table, true, StandardCharsets.UTF_8));

        assertEquals(0, status);
        String printed = table.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("epp (embedded, 4 endpoints)") && printed.contains("no-op ext_proc"), printed);
        // each target says how its warm-up ended before it is measured
        assertTrue(printed.contains("epp (embedded, 4 endpoints): warmed up ")
                && printed.contains("no-op ext_proc: warmed up "), printed);
        String json = Files.readString(out);
        assertTrue(field(json, "decisions_per_s") > 50, json);
        assertEquals(0, field(json, "errors"), json);
        assertTrue(field(json, "p99_us") >= field(json, "p50_us"), json);
        assertTrue(field(json, "cpu_us_per_decision") > 0, json);
        assertTrue(json.contains("\"baseline\""), json);
        assertTrue(field(json, "cost_ratio_cpu") > 0, json);
        assertTrue(field(json, "warmup_s") >= 0.5, json);
        assertTrue(json.contains("\"jit_quiet_before_measuring\""), json);
    }

    @Test
    void warmUpDrivesTheTargetAtFullSpeedNotAtTheMeasuredRate() throws Exception {
        // At the measured rate alone, methods run once per decision would reach C2 only late in the warm-up.
        LoadGenerator.Settings slow = new LoadGenerator.Settings(20, false, 8, 1, 0.5, 1024,
                Dialect.AGENTGATEWAY, 42);
        try (NoopExtProcServer noop = NoopExtProcServer.start(0, "127.0.0.1:8000");
             Connection c = Connection.open(
                     new LoadGenerator.Target("no-op", "127.0.0.1", noop.port(), false))) {
            c.warmUp(slow); // the first one loads gRPC's and protobuf's classes: seconds for the first streams
            long before = noop.streams();
            c.warmUp(slow);
            long served = noop.streams() - before;
            // 20 req/s for the 0.5 s warm-up and at most 1 s of settling would be at most 30 streams
            assertTrue(served > 200, "streams during the second warm-up: " + served);
        }
    }

    @Test
    void openLoopSendsOneRequestPerIntendedTimeFromTheConnectionsEventLoop() throws Exception {
        // 200 req/s for 1 s: intended times start + i * 5 ms, i = 0..199, each sent once whatever the timing
        LoadGenerator.Settings s = new LoadGenerator.Settings(200, false, 8, 1, 0, 1024,
                Dialect.AGENTGATEWAY, 42);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        try (NoopExtProcServer noop = NoopExtProcServer.start(0, "127.0.0.1:8000");
             Connection c = Connection.open(
                     new LoadGenerator.Target("no-op", "127.0.0.1", noop.port(), false))) {
            long before = noop.streams();
            LoadGenerator.Result r = c.measure(s, c.warmUp(s), new PrintStream(progress, true, StandardCharsets.UTF_8));
            assertEquals(200, r.decisions());
            assertEquals(0, r.errors());
            assertEquals(200, noop.streams() - before);
            assertEquals(200, r.latencyMicros().getTotalCount());
        }
        assertTrue(progress.toString(StandardCharsets.UTF_8).startsWith("no-op: not warmed up"), progress.toString());
    }

    @Test
    void openStreamsKeepTheirResponsesStreamingWhileOnlyNewDecisionsAreTimed() throws Exception {
        // 50 open streams x 20 chunks/s over 2 connections, and 100 new decisions/s for 1 s
        LoadGenerator.Settings s = new LoadGenerator.Settings(100, false, 8, 1, 0, 1024, Dialect.ISTIO, 42, 50,
                20, 2);
        try (NoopExtProcServer noop = NoopExtProcServer.start(0, "127.0.0.1:8000");
             Connection c = Connection.open(new LoadGenerator.Target("no-op", "127.0.0.1", noop.port(), false), 2)) {
            long before = noop.streams();
            LoadGenerator.Result r = c.measure(s, LoadGenerator.WarmUp.NONE,
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            assertEquals(100, r.decisions());
            assertEquals(0, r.errors());
            assertEquals(100, r.latencyMicros().getTotalCount(), "only the new decisions are timed");
            assertEquals(150, noop.streams() - before, "100 new decisions and 50 open streams");
            // 1,000 chunks a second were due; the pacer sends late ones at once, so nearly all are echoed
            assertTrue(r.responseChunksPerSecond() > 600 && r.responseChunksPerSecond() < 1300,
                    "response chunks/s " + r.responseChunksPerSecond());
        }
    }
}
