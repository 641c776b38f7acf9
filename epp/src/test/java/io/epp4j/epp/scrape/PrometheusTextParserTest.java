package io.epp4j.epp.scrape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrometheusTextParserTest {

    /** q0: {@code m}; q1: {@code m{a="x"}}; q2: {@code info} capturing label {@code l}. */
    private static final PrometheusTextParser PARSER = new PrometheusTextParser(List.of(
            SeriesQuery.newest(MetricSelector.parse("m")),
            SeriesQuery.newest(MetricSelector.parse("m{a=\"x\"}")),
            new SeriesQuery(MetricSelector.parse("info"), List.of("l"), false)));

    private static Extraction parse(String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return PARSER.parse(b, b.length, PARSER.newExtraction());
    }

    static Stream<Arguments> values() {
        double nan = Double.NaN;
        return Stream.of(
                // name, body, expected q0 value (NaN + found=false when absent), skipped lines
                Arguments.of("plain", "m 3\n", 3.0, 0),
                Arguments.of("no trailing newline", "m 3", 3.0, 0),
                Arguments.of("crlf", "# TYPE m gauge\r\nm 4\r\n", 4.0, 0),
                Arguments.of("labels", "m{a=\"x\",b=\"y\"} 5\n", 5.0, 0),
                Arguments.of("empty labels", "m{} 5\n", 5.0, 0),
                Arguments.of("trailing comma in labels", "m{a=\"x\",} 6\n", 6.0, 0),
                Arguments.of("spaces around", "  m  {a = \"x\" , b=\"y\"}   7   \n", 7.0, 0),
                Arguments.of("NaN", "m NaN\n", nan, 0),
                Arguments.of("+Inf", "m +Inf\n", Double.POSITIVE_INFINITY, 0),
                Arguments.of("-Inf", "m -Inf\n", Double.NEGATIVE_INFINITY, 0),
                Arguments.of("exponent", "m 1.5e+3\n", 1500.0, 0),
                Arguments.of("negative exponent", "m 25e-2\n", 0.25, 0),
                Arguments.of("many digits", "m 1786910601.1177013\n", 1786910601.1177013, 0),
                Arguments.of("huge exponent", "m 1e400\n", Double.POSITIVE_INFINITY, 0),
                Arguments.of("tiny", "m 4.9e-324\n", 4.9e-324, 0),
                Arguments.of("hex float", "m 0x1p3\n", 8.0, 0),
                Arguments.of("timestamp", "m 8 1700000000000\n", 8.0, 0),
                Arguments.of("openmetrics exemplar", "m 9 # {trace_id=\"abc\"} 1 1.7e9\n", 9.0, 0),
                Arguments.of("openmetrics eof stops", "m 10\n# EOF\nm 11 99999999999999\n", 10.0, 0),
                Arguments.of("help and type missing", "other 1\nm 12\n", 12.0, 0),
                Arguments.of("longer name is another metric", "m_total 1\nmm 2\n", nan, 0),
                Arguments.of("empty", "", nan, 0),
                Arguments.of("only comments", "# HELP m x\n# TYPE m gauge\n", nan, 0),
                Arguments.of("value missing", "m\n", nan, 1),
                Arguments.of("value garbage", "m abc\n", nan, 1),
                Arguments.of("java suffix rejected", "m 1.0d\n", nan, 1),
                Arguments.of("extra token", "m 1 2 3\n", nan, 1),
                Arguments.of("unterminated labels", "m{a=\"x\" 5\n", nan, 1),
                Arguments.of("unterminated value at end", "m{a=\"x", nan, 1),
                Arguments.of("truncated after name", "m", nan, 1),
                Arguments.of("newline inside label value", "m{a=\"x\ny\"} 1\nm 2\n", 2.0, 1),
                Arguments.of("bad line then good line", "m x\nm 13\n", 13.0, 1),
                Arguments.of("NaN timestamp rejected", "m 1 NaN\n", nan, 1),
                Arguments.of("quoted label name", "m{\"a.b\"=\"x\"} 14\n", 14.0, 0),
                Arguments.of("utf-8 label value", "m{a=\"\u00e9\u6f22\"} 15\n", 15.0, 0),
                Arguments.of("binary garbage", "\u0000\u00ff\u0001m 1\n\u0000m 16\n", nan, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("values")
    void extractsTheSelectedValue(String name, String body, double expected, int skipped) {
        Extraction ex = parse(body);
        assertEquals(!Double.isNaN(expected) || body.contains("m NaN"), ex.found(0), "found");
        assertEquals(expected, ex.value(0), 0.0, "value");
        assertEquals(skipped, ex.skippedLines(), "skipped lines");
    }

    @Test
    void newestTimestampWinsAndUntimestampedIsOldest() {
        Extraction ex = parse("m 1 200\nm 2\nm 3 300\nm 4 250\n");
        assertEquals(3.0, ex.value(0));
        assertEquals(300.0, ex.timestamp(0));
    }

    @Test
    void firstOfEqualTimestampsWins() {
        assertEquals(1.0, parse("m 1\nm 2\n").value(0));
    }

    @Test
    void equalityMatchersSelectTheSeries() {
        Extraction ex = parse("m{a=\"y\"} 1\nm{a=\"x\",b=\"z\"} 2\nm{b=\"x\"} 3\n");
        assertEquals(2.0, ex.value(1));
        assertTrue(ex.found(0));
    }

    @Test
    void escapedLabelValuesCompareUnescaped() {
        PrometheusTextParser p = new PrometheusTextParser(List.of(
                SeriesQuery.newest(MetricSelector.parse("m{a=\"q\\\"b\\\\n\\nz\"}"))));
        byte[] b = "m{a=\"q\\\"b\\\\n\\nz\"} 7\nm{a=\"q\\\"b\"} 8\n".getBytes(StandardCharsets.UTF_8);
        Extraction ex = p.parse(b, b.length, p.newExtraction());
        assertTrue(ex.found(0));
        assertEquals(7.0, ex.value(0));
    }

    @Test
    void emptyMatcherMatchesAbsentLabel() {
        PrometheusTextParser p = new PrometheusTextParser(List.of(
                SeriesQuery.newest(MetricSelector.parse("m{a=\"\"}"))));
        byte[] b = "m{a=\"v\"} 1\nm{b=\"v\"} 2\n".getBytes(StandardCharsets.UTF_8);
        assertEquals(2.0, p.parse(b, b.length, p.newExtraction()).value(0));
    }

    @Test
    void capturesLabelsOfTheWinningSeriesUnescaped() {
        Extraction ex = parse("info{l=\"old\"} 1 100\ninfo{l=\"a\\\"b\\\\c\\nd\"} 1 200\n");
        assertEquals("a\"b\\c\nd", ex.captured(2, 0));
    }

    @Test
    void collectAllKeepsEverySeriesWithLabels() {
        PrometheusTextParser p = new PrometheusTextParser(List.of(
                new SeriesQuery(MetricSelector.parse("lora"), List.of(), true)));
        byte[] b = "lora{x=\"1\"} 5\nother 1\nlora{x=\"2\",y=\"\"} 6\n".getBytes(StandardCharsets.UTF_8);
        Extraction ex = p.parse(b, b.length, p.newExtraction());
        assertEquals(List.of(new Extraction.Series(5, Double.NEGATIVE_INFINITY, Map.of("x", "1")),
                new Extraction.Series(6, Double.NEGATIVE_INFINITY, Map.of("x", "2", "y", ""))), ex.all(0));
    }

    @Test
    void reusedExtractionForgetsThePreviousBody() {
        Extraction ex = PARSER.newExtraction();
        byte[] first = "m 1\ninfo{l=\"v\"} 1\n".getBytes(StandardCharsets.UTF_8);
        PARSER.parse(first, first.length, ex);
        byte[] second = "x 1\n".getBytes(StandardCharsets.UTF_8);
        PARSER.parse(second, second.length, ex);
        assertFalse(ex.found(0));
        assertEquals(null, ex.captured(2, 0));
    }

    @Test
    void veryLongLinesAndManyLabelsAreFine() {
        StringBuilder sb = new StringBuilder("m{");
        for (int i = 0; i < 5000; i++) {
            sb.append("l").append(i).append("=\"").append("v".repeat(20)).append("\",");
        }
        sb.append("a=\"x\"} 42\n").append("x".repeat(2_000_000)).append('\n');
        Extraction ex = parse(sb.toString());
        assertEquals(42.0, ex.value(1));
    }

    @Test
    void findsLinesAfterSkippedLinesOfEveryLength() {
        for (int skipped = 0; skipped < 40; skipped++) {
            for (int lines = 1; lines < 4; lines++) {
                String filler = ("#" + "x".repeat(skipped) + "\n").repeat(lines);
                Extraction ex = parse(filler + "m " + skipped + "\n" + filler);
                assertEquals(skipped, ex.value(0), 0.0, "after " + lines + " lines of " + (skipped + 2) + " bytes");
            }
        }
    }

    @Test
    void onlyTheGivenLengthIsRead() {
        byte[] b = "m 1\nm 2 5\n".getBytes(StandardCharsets.UTF_8);
        assertEquals(1.0, PARSER.parse(b, 4, PARSER.newExtraction()).value(0));
    }

    @Test
    void randomBytesNeverThrow() {
        Random random = new Random(42);
        Extraction ex = PARSER.newExtraction();
        byte[] alphabet = "m{}=\",\\ \n\r#0123456789.eE+-NaInfa_lx".getBytes(StandardCharsets.UTF_8);
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[random.nextInt(64)];
            for (int i = 0; i < b.length; i++) {
                b[i] = random.nextInt(4) == 0 ? (byte) random.nextInt(256) : alphabet[random.nextInt(alphabet.length)];
            }
            PARSER.parse(b, b.length, ex);
        }
    }

    @Test
    void numbersParseExactlyLikeTheJdk() {
        Random random = new Random(7);
        Extraction ex = PARSER.newExtraction();
        for (int i = 0; i < 100_000; i++) {
            double d = switch (i % 4) {
                case 0 -> random.nextDouble();
                case 1 -> random.nextInt(1_000_000) / 1000.0;
                case 2 -> Double.longBitsToDouble(random.nextLong());
                default -> random.nextLong() * 1e-10;
            };
            String s = Double.toString(d);
            byte[] b = s.getBytes(StandardCharsets.US_ASCII);
            double parsed = PrometheusTextParser.parseNumber(b, 0, b.length, ex);
            if (s.equals("Infinity") || s.equals("-Infinity") || s.equals("NaN")) {
                continue;
            }
            assertTrue(ex.numberOk, s);
            assertArrayEquals(new long[] {Double.doubleToLongBits(d)},
                    new long[] {Double.doubleToLongBits(parsed)}, s);
        }
    }

    /**
     * With every selected name 8 bytes or longer the parser rejects most lines on their first 8 bytes and skips
     * 8 bytes at a time; one short name switches that off. Both must extract exactly the same from any body.
     */
    @Test
    void prefixShortcutExtractsExactlyWhatTheFullScanDoes() {
        List<SeriesQuery> selected = List.of(
                SeriesQuery.newest(MetricSelector.parse("vllm:num_requests_waiting")),
                SeriesQuery.newest(MetricSelector.parse("vllm:kv_cache_usage_perc{engine=\"0\"}")));
        PrometheusTextParser fast = new PrometheusTextParser(selected);
        PrometheusTextParser full = new PrometheusTextParser(Stream.concat(selected.stream(),
                // a short name that never occurs: it only switches the shortcut off
                Stream.of(SeriesQuery.newest(MetricSelector.parse("zz")))).toList());
        String[] fragments = {"vllm:num_requests_waiting", "vllm:num_requests_waitin", "vllm:num_requests_waiting_x",
                "vllm:num_preemptions_total", "vllm:kv_cache_usage_perc", "vllm:kv_", "vllm:k", "up", "other_family",
                "{engine=\"0\"}", "{engine=\"1\",model_name=\"q\"}", " ", "  ", " 3", " 4.5", " NaN", " 17 1700000000",
                "\n", "\r\n", "\n\n", "# HELP x y\n", "# EOF\n", "\"", "{", "x", "\u00e9"};
        Random random = new Random(11);
        for (int round = 0; round < 20_000; round++) {
            StringBuilder body = new StringBuilder();
            for (int i = random.nextInt(12); i > 0; i--) {
                body.append(fragments[random.nextInt(fragments.length)]);
            }
            byte[] b = body.toString().getBytes(StandardCharsets.UTF_8);
            int length = random.nextInt(b.length + 1);
            Extraction a = fast.parse(b, length, fast.newExtraction());
            Extraction c = full.parse(b, length, full.newExtraction());
            String where = body.substring(0, Math.min(body.length(), length));
            for (int q = 0; q < 2; q++) {
                assertEquals(c.found(q), a.found(q), where);
                assertEquals(c.value(q), a.value(q), 0.0, where);
                assertEquals(c.timestamp(q), a.timestamp(q), 0.0, where);
            }
            assertEquals(c.skippedLines(), a.skippedLines(), where);
        }
    }

    @Test
    void longNamesAreFoundAfterLinesOfEveryLengthAndLineEnding() {
        PrometheusTextParser p = new PrometheusTextParser(List.of(
                SeriesQuery.newest(MetricSelector.parse("vllm:num_requests_running"))));
        for (int filler = 0; filler < 40; filler++) {
            for (String newline : List.of("\n", "\r\n")) {
                String body = "vllm:num_preemptions_total" + "x".repeat(filler) + " 1" + newline
                        + "vllm:other" + "y".repeat(filler) + newline
                        + "vllm:num_requests_running{engine=\"0\"} " + filler + newline;
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                Extraction ex = p.parse(b, b.length, p.newExtraction());
                assertEquals(filler, ex.value(0), 0.0, body);
                assertEquals(0, ex.skippedLines(), body);
            }
        }
    }
}
