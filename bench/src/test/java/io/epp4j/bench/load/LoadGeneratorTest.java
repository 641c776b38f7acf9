package io.epp4j.bench.load;

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
        String json = Files.readString(out);
        assertTrue(field(json, "decisions_per_s") > 50, json);
        assertEquals(0, field(json, "errors"), json);
        assertTrue(field(json, "p99_us") >= field(json, "p50_us"), json);
        assertTrue(field(json, "cpu_us_per_decision") > 0, json);
        assertTrue(json.contains("\"baseline\""), json);
        assertTrue(field(json, "cost_ratio_cpu") > 0, json);
    }
}
