package io.epp4j.bench.sim;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench.jar calibrate}: the step profiles behave like a vLLM V1 server on the published benchmark shapes. */
class CalibrationTest {

    private static String calibrate(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, Calibration.run(args, new PrintStream(out, true, StandardCharsets.UTF_8)));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<Double> column(String text, String rowPattern) {
        List<Double> values = new ArrayList<>();
        Matcher m = Pattern.compile(rowPattern, Pattern.MULTILINE).matcher(text);
        while (m.find()) {
            values.add(Double.parseDouble(m.group(1)));
        }
        return values;
    }

    @Test
    void theEightBillionProfileMatchesThePublishedShapes() throws Exception {
        String text = calibrate("--engine-profile", "h100-8b", "--requests", "200", "--rates", "2,16");
        // TTFT on an idle pod grows with the prompt, faster than linearly once attention dominates
        List<Double> ttft = column(text, "^\\s+\\d+ tokens\\s+([\\d.]+)$");
        assertEquals(5, ttft.size(), text);
        for (int i = 1; i < ttft.size(); i++) {
            assertTrue(ttft.get(i) > ttft.get(i - 1), text);
        }
        assertTrue(ttft.get(4) / ttft.get(3) > 4.0, "32k vs 8k tokens: more than 4x (quadratic attention): " + text);
        // inter-token latency: about 8 ms at batch 1 (published 7.5 ms median TPOT), growing with the batch
        List<Double> itl = column(text, "^\\s+B=\\d+\\s+([\\d.]+)$");
        assertTrue(itl.get(0) > 6 && itl.get(0) < 10, text);
        assertTrue(itl.get(itl.size() - 1) > 2 * itl.get(0), text);
        // ShareGPT-shaped runs: TPOT grows with the rate, and everything at once takes seconds to its first token
        List<Double> tpot = column(text, "^\\s+(?:[\\d.]+|all at once)\\s+\\d+\\s+([\\d.]+)\\s+\\d+");
        assertEquals(3, tpot.size(), text);
        assertTrue(tpot.get(0) < tpot.get(1) && tpot.get(1) < tpot.get(2), text);
        assertTrue(text.contains("all at once"), text);
    }

    @Test
    void theSeventyBillionProfileIsSlowerPerToken() throws Exception {
        String small = calibrate("--engine-profile", "h100-8b", "--requests", "50", "--rates", "1");
        String large = calibrate("--engine-profile", "h100x4-70b", "--requests", "50", "--rates", "1");
        double smallItl = column(small, "^\\s+B=1\\s+([\\d.]+)$").get(0);
        double largeItl = column(large, "^\\s+B=1\\s+([\\d.]+)$").get(0);
        assertTrue(largeItl > 1.5 * smallItl, small + large);
    }
}
