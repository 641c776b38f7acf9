package io.epp4j.bench.jmh;

import io.epp4j.epp.scrape.EngineConfig;
import io.epp4j.epp.scrape.EngineMapping;
import io.epp4j.epp.scrape.Extraction;
import io.epp4j.epp.scrape.PrefixCacheRate;
import io.epp4j.spi.EndpointMetrics;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Workload: one scrape of the realistic 30 KB vLLM exposition ({@code vllm-metrics-sample.txt} in this package's
 * resources, 343 lines; its header says where it comes from), extracting what the vLLM engine mapping needs:
 * waiting, running, KV usage, every {@code vllm:lora_requests_info} series with its labels, {@code block_size} /
 * {@code num_gpu_blocks} of {@code vllm:cache_config_info}, and the two prefix-cache counters.
 *
 * <ul>
 *   <li>{@code epp4jParse}: our streaming parser into a reused {@link Extraction} (what a scrape loop does).</li>
 *   <li>{@code epp4jParseAndMap}: the same plus building the immutable {@link EndpointMetrics}.</li>
 *   <li>{@code baselineRegex}: a naive scanner — decode to a String, split lines, one regex per sample line,
 *       a regex over the labels of selected lines, {@code Double.parseDouble}.</li>
 *   <li>{@code baselineSplit}: a naive scanner without regex — String lines, {@code indexOf}/{@code split}.</li>
 * </ul>
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main PrometheusParserBenchmark -f 1 -wi 3 -i 5
 * -w 1s -r 1s -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PrometheusParserBenchmark {

    static final Set<String> SELECTED = Set.of("vllm:num_requests_waiting", "vllm:num_requests_running",
            "vllm:kv_cache_usage_perc", "vllm:lora_requests_info", "vllm:cache_config_info",
            "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total");
    static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{.*\\})?\\s+(\\S+)(?:\\s+(\\S+))?\\s*$");
    static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    byte[] body;
    EngineMapping mapping;
    Extraction extraction;
    PrefixCacheRate prefixCache;

    @Setup
    public void setUp() throws IOException {
        try (InputStream in = PrometheusParserBenchmark.class.getResourceAsStream("vllm-metrics-sample.txt")) {
            body = in.readAllBytes();
        }
        mapping = EngineMapping.compile(EngineConfig.builtIns().get(EngineConfig.VLLM));
        extraction = mapping.parser().newExtraction();
        prefixCache = new PrefixCacheRate();
    }

    @Benchmark
    public Extraction epp4jParse() {
        return mapping.parser().parse(body, body.length, extraction);
    }

    @Benchmark
    public EndpointMetrics epp4jParseAndMap() {
        mapping.parser().parse(body, body.length, extraction);
        return mapping.toMetrics(extraction, EndpointMetrics.UNKNOWN, prefixCache, 1L);
    }

    /** name → list of (labels, value) for the selected names. */
    @Benchmark
    public Map<String, List<Object[]>> baselineRegex() {
        Map<String, List<Object[]>> out = new HashMap<>();
        String text = new String(body, StandardCharsets.UTF_8);
        for (String line : text.split("\r?\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches() || !SELECTED.contains(m.group(1))) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.computeIfAbsent(m.group(1), k -> new java.util.ArrayList<>())
                    .add(new Object[] {labels, Double.parseDouble(m.group(3))});
        }
        return out;
    }

    @Benchmark
    public Map<String, List<Object[]>> baselineSplit() {
        Map<String, List<Object[]>> out = new HashMap<>();
        String text = new String(body, StandardCharsets.UTF_8);
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.charAt(0) == '#') {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String name = brace >= 0 ? line.substring(0, brace) : line.substring(0, Math.max(0, space));
            if (!SELECTED.contains(name)) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            if (brace >= 0) {
                String inner = line.substring(brace + 1, line.lastIndexOf('}'));
                for (String pair : inner.split(",")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0) {
                        labels.put(pair.substring(0, eq), pair.substring(eq + 2, pair.length() - 1));
                    }
                }
            }
            out.computeIfAbsent(name, k -> new java.util.ArrayList<>())
                    .add(new Object[] {labels, Double.parseDouble(line.substring(space + 1).trim())});
        }
        return out;
    }
}
