package io.epp4j.bench.scoreboard;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.cli.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench.jar pd} on a fleet with {@code both} pods, and its {@code pd-*} policies. */
class PdBenchTest {

    static Map<String, Object> summary(Path dir, String run) throws Exception {
        return Json.parseObject(Files.readString(dir.resolve("rate-4.00").resolve(run).resolve("summary.json")));
    }

    @Test
    void aBothPodPrefillsForTheDecodePodAndServesItsOwnPicksDecodeOnly(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = PdBench.run(new String[] {"--trace", "gen:decode-heavy", "--requests", "24", "--rates", "4",
                "--prefill-pods", "0", "--decode-pods", "1", "--both-pods", "1", "--policies", "epp4j,pd,pd-queue",
                "--thresholds", "1", "--out", out.toString()}, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, log.toString(StandardCharsets.UTF_8));
        for (String run : new String[] {"pd-1", "pd-queue-1"}) {
            Map<String, Object> s = summary(out, run);
            assertEquals(1.0, ((Number) s.get("both_pods")).doubleValue(), run);
            assertEquals(24.0, ((Number) s.get("served")).doubleValue(), run);
            double share = ((Number) s.get("disaggregated_share")).doubleValue();
            // every prompt asks for a prefill pod; only the both pod is one, and it does not prefill for itself
            assertTrue(share > 0 && share < 1, run + " disaggregated " + share);
        }
        assertEquals(2.0, ((Number) summary(out, "epp4j").get("pods")).doubleValue());
        String table = Files.readString(out.resolve("pd.md"));
        assertTrue(table.contains("| pd-queue (nonCachedTokens 1) |"), table);
    }

    @Test
    void aFleetWithoutAPodThatDecodesIsAUsageError(@TempDir Path out) {
        assertThrows(Flags.UsageException.class, () -> PdBench.run(new String[] {"--prefill-pods", "2",
                "--decode-pods", "0", "--out", out.toString()}, new PrintStream(new ByteArrayOutputStream())));
    }
}
