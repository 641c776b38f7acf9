package io.epp4j.e2e;

import io.epp4j.bench.BenchMain;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.replay.Replay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A short replay through gateway → EPP → simulated pods writes well-formed reports. */
class ReplayE2ETest {

    @Test
    void shortReplayWritesSummaryCsvAndChartPerPolicy(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = BenchMain.run(new String[] {"replay", "--trace", "gen:shared-prefix:groups=4,prefix=400,question=50,output=20,rate=20",
            "--policy", "round-robin,gaie-default", "--pods", "2", "--speedup", "20", "--limit", "40", "--out", out.toString(),
            "--configs", Replay.defaultConfigs(Path.of("")).toString(), "--seed", "5", "--warm-up", "100"}, new PrintStream(log), new PrintStream(log));
        assertEquals(0, status, log.toString());
        for (String policy : List.of("round-robin", "gaie-default")) {
            Path dir = out.resolve(policy);
            Map<String, Object> summary = Json.parseObject(Files.readString(dir.resolve("summary.json")));
            for (String key : List.of("ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "throughput_tokens_per_s",
                    "prefix_cache_hit_rate", "requests", "errors")) {
                assertTrue(summary.get(key) instanceof Double, key + " in " + summary);
            }
            assertEquals(40.0, summary.get("requests"));
            assertEquals(0.0, summary.get("errors"));
            assertTrue((Double) summary.get("ttft_p50_ms") <= (Double) summary.get("ttft_p90_ms"));
            assertTrue((Double) summary.get("ttft_p90_ms") <= (Double) summary.get("ttft_p99_ms"));
            assertTrue((Double) summary.get("throughput_tokens_per_s") > 0);
            double hit = (Double) summary.get("prefix_cache_hit_rate");
            assertTrue(hit > 0 && hit < 1, "four shared prompts over forty requests give some hits: " + hit);
            List<String> rows = Files.readAllLines(dir.resolve("requests.csv"));
            assertTrue(rows.get(0).startsWith("index,sent_ms,status,pod,ttft_ms,e2e_ms,output_tokens,prompt_tokens,cached_tokens,"), rows.get(0));
            assertEquals(41, rows.size());
            assertTrue(rows.stream().skip(1).allMatch(r -> r.split(",")[2].equals("200") && r.split(",")[6].equals("20")));
            String svg = Files.readString(dir.resolve("ttft-cdf.svg"));
            assertTrue(svg.startsWith("<svg") && svg.trim().endsWith("</svg>") && svg.contains("<polyline"));
        }
        List<String> comparison = Files.readAllLines(out.resolve("comparison.csv"));
        assertEquals(3, comparison.size());
        assertTrue(Files.readString(out.resolve("ttft-cdf.svg")).contains("gaie-default"));
    }
}
