package io.epp4j.bench.scoreboard;

import io.epp4j.bench.cli.Flags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bench.jar scoreboard}, small: every workload × load × policy cell is run in simulated time against the
 * greedy reference and the lower bound, and the CSV, Markdown and SVG agree with each other.
 */
class ScoreboardTest {

    @Test
    void aSmallBoardRunsEveryCellAndReportsItAgainstBothReferences(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = Scoreboard.run(new String[] {"--out", out.toString(), "--workloads", "decode-heavy,rag",
                "--loads", "0.5,1.3", "--policies", "round-robin,least-queue,epp4j", "--requests", "60",
                "--max-requests", "120", "--pods", "3", "--fleets", "uniform,straggler", "--threads", "1"},
                new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, log.toString());

        List<String> csv = Files.readAllLines(out.resolve("scoreboard.csv"));
        String[] header = csv.get(0).split(",");
        // 2 fleets × 2 workloads × 2 loads × 3 policies × 2 seeds
        assertEquals(1 + 2 * 2 * 2 * 3 * 2, csv.size(), String.join("\n", csv));
        Map<String, Integer> col = new HashMap<>();
        for (int i = 0; i < header.length; i++) {
            col.put(header[i], i);
        }
        Map<String, Double> capacityByCell = new HashMap<>();
        for (String line : csv.subList(1, csv.size())) {
            String[] v = line.split(",");
            double p50 = Double.parseDouble(v[col.get("ttft_p50_ms")]);
            double p90 = Double.parseDouble(v[col.get("ttft_p90_ms")]);
            double bound = Double.parseDouble(v[col.get("bound_ttft_p90_ms")]);
            double greedy = Double.parseDouble(v[col.get("greedy_ttft_p90_ms")]);
            assertTrue(p50 > 0 && p90 >= p50, line);
            assertTrue(bound > 0 && p90 >= bound && greedy >= bound,
                    "no policy and not the greedy reference beat the lower bound: " + line);
            assertTrue(Double.parseDouble(v[col.get("throughput_tokens_per_s")]) > 0, line);
            // the load is a share of one capacity per fleet, workload and seed
            String cell = v[col.get("fleet")] + v[col.get("workload")] + v[col.get("seed")];
            double capacity = Double.parseDouble(v[col.get("capacity_rps")]);
            Double seen = capacityByCell.putIfAbsent(cell, capacity);
            assertTrue(seen == null || seen == capacity, line);
        }

        String md = Files.readString(out.resolve("scoreboard.md"));
        assertTrue(md.contains("### step engine, uniform fleet") && md.contains("### step engine, straggler fleet"), md);
        long rows = md.lines().filter(l -> l.startsWith("| decode-heavy |") || l.startsWith("| rag |")).count();
        assertEquals(2 * 2 * 2, rows, "one Markdown row per fleet × workload × load: " + md);
        String svg = Files.readString(out.resolve("scoreboard.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("epp4j") && svg.contains("round-robin"), svg);
    }

    @Test
    void theBoardNeedsRoundRobinAsItsBaselineAndKnownFleets(@TempDir Path out) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThrows(Flags.UsageException.class, () -> Scoreboard.run(new String[] {"--out", out.toString(),
                "--policies", "epp4j"}, quiet));
        assertThrows(Flags.UsageException.class, () -> Scoreboard.run(new String[] {"--out", out.toString(),
                "--fleets", "fast"}, quiet));
    }

    @Test
    void aRowMissesTheTargetsThatItsFocusPolicyMisses() {
        Report.Row within = row(0.5, 100, 100, 95, 1.0, 1.0);
        assertEquals("", Report.misses(within, "epp4j"));
        Report.Row slow = row(0.5, 100, 60, 140, 0.9, 3.0);
        String misses = Report.misses(slow, "epp4j");
        assertTrue(misses.contains("x greedy") && misses.contains("x RR") && misses.contains("throughput")
                && misses.contains("spread"), misses);
    }

    /** A row with epp4j's p90, round-robin's, the greedy reference's, epp4j's throughput ratio and spread. */
    private static Report.Row row(double load, double rr, double greedy, double epp, double throughputRatio,
                                  double spread) {
        return new Report.Row(new Scoreboard.Key("step", "uniform", "agentic", load), 100, 10, greedy, 1, 1.0,
                Map.of("round-robin", new double[] {rr, 1, 1, 0, rr / greedy, 1, 0, 0, 1},
                        "epp4j", new double[] {epp, 1, spread, 0, epp / greedy, epp / rr, 0, 0, throughputRatio}));
    }
}
