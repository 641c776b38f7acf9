package io.epp4j.bench.scoreboard;

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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench.jar scoreboard-explain}: every decision of one cell against the best pod at that moment. */
class ExplainTest {

    @Test
    void everyDecisionIsListedWithEachPodsWhatIfAndTheScorersValues(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("regret.csv");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = Explain.run(new String[] {"--workload", "bursts", "--load", "1.0", "--policy", "epp4j",
                "--requests", "40", "--max-requests", "80", "--pods", "3", "--out", csv.toString()},
                new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, log.toString());
        assertTrue(log.toString().contains("decision regret"), log.toString());

        List<String> lines = Files.readAllLines(csv);
        String[] header = lines.get(0).split(",");
        Map<String, Integer> col = new HashMap<>();
        for (int i = 0; i < header.length; i++) {
            col.put(header[i], i);
        }
        int decisions = 0;
        for (String line : lines.subList(1, lines.size())) {
            String[] v = line.split(",", header.length);
            int pod = Integer.parseInt(v[col.get("pod")]);
            int chosen = Integer.parseInt(v[col.get("chosen")]);
            int best = Integer.parseInt(v[col.get("best")]);
            double regret = Double.parseDouble(v[col.get("regret_ms")]);
            assertTrue(regret >= 0, "the best pod is the soonest first token: " + line);
            assertTrue(v[col.get("scores")].contains("prefill-backlog-scorer="), line);
            if (pod == chosen) {
                assertEquals(Double.parseDouble(v[col.get("chosen_ms")]), Double.parseDouble(v[col.get("whatif_ms")]),
                        1e-6, line);
            }
            if (pod == best) {
                assertEquals(Double.parseDouble(v[col.get("best_ms")]), Double.parseDouble(v[col.get("whatif_ms")]),
                        1e-6, line);
            }
            decisions += pod == 0 ? 1 : 0;
        }
        assertEquals(decisions * 3, lines.size() - 1, "one line per pod per decision");
        assertTrue(decisions >= 40, "every request decided: " + decisions);
    }
}
