package io.epp4j.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchMainTest {

    private int run(ByteArrayOutputStream err, String... args) {
        return BenchMain.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void unknownCommandPrintsUsageAndExitsWith2() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, run(err, "frobnicate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: java -jar bench/target/bench.jar"));
    }

    @Test
    void unknownFlagOrMissingValueExitsWith2() {
        assertEquals(2, run(new ByteArrayOutputStream(), "replay", "--trace", "gen:multi-turn", "--bogus", "1"));
        assertEquals(2, run(new ByteArrayOutputStream(), "load", "--target"));
        assertEquals(2, run(new ByteArrayOutputStream(), "load", "--target", "noop", "--rps", "10", "--max"));
        assertEquals(2, run(new ByteArrayOutputStream(), "replay", "--trace", "gen:multi-turn", "--policy", "fastest",
                "--out", "x"));
        for (String interval : new String[] {"fast", "0", "-5ms"}) {
            assertEquals(2, run(new ByteArrayOutputStream(), "replay", "--trace", "gen:multi-turn", "--policy", "epp4j",
                    "--out", "x", "--scrape-interval", interval), interval);
            assertEquals(2, run(new ByteArrayOutputStream(), "load", "--target", "embedded", "--rps", "10",
                    "--scrape-interval", interval), interval);
        }
        // The oracle has no decode slots or inter-token latency, so it refuses the replay flags that set them.
        assertEquals(2, run(new ByteArrayOutputStream(), "oracle", "--trace", "gen:multi-turn", "--itl-ms", "5"));
        assertEquals(2, run(new ByteArrayOutputStream()));
    }

    @Test
    void oracleWithoutTraceUsesTheRepositorysMooncakeTrace() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = BenchMain.run(new String[] {"oracle", "--limit", "40"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, status);
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("oracle mooncake: 40 requests, 4 pods"), printed);
    }
}
