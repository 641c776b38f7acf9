package io.epp4j.bench.replay;

import io.epp4j.bench.cli.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Workloads for the replay and the scoreboard: the Mooncake trace (hash ids turned into deterministic text) and
 * generated ones, each seeded, parameters as {@code gen:NAME:key=value,key=value} ({@link #GENERATED} lists them;
 * {@code bench/README.md} documents every parameter).
 */
public final class Workloads {

    /** Tokens per Mooncake hash id. */
    static final int MOONCAKE_BLOCK_TOKENS = 512;
    private static final String[] SYLLABLES = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "an",
        "el", "or", "is", "um", "qu", "ba", "de", "fi", "go"};

    private Workloads() {
    }

    /**
     * A parsed workload and the models it uses.
     *
     * @param objectives InferenceObjective resources (YAML, as {@code --inference-objectives-file} reads them) that
     *     give the priorities its requests name, or "" when it names none
     */
    public record Workload(String name, List<TraceRequest> requests, String baseModel, List<String> loras,
                           String objectives) {

        public Workload(String name, List<TraceRequest> requests, String baseModel, List<String> loras) {
            this(name, requests, baseModel, loras, "");
        }
    }

    /** The generated workloads' names. */
    public static final List<String> GENERATED = List.of("shared-prefix", "multi-turn", "lora-mix", "agentic",
            "heavy-tail", "bursts", "decode-heavy", "rag", "tenants");

    /** The Mooncake conversation trace shipped in the repository (bench/traces/README.md). */
    public static final String DEFAULT_TRACE = "bench/traces/mooncake-conversation.jsonl";

    /**
     * The repository's Mooncake trace: the nearest {@link #DEFAULT_TRACE} at or above {@code start}, so the replay
     * (and the tests, which run in a module's directory) find it from anywhere in a checkout; else the path
     * relative to {@code start}, which then fails with the missing file's name.
     */
    public static Path defaultTrace(Path start) {
        for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(DEFAULT_TRACE))) {
                return p.resolve(DEFAULT_TRACE);
            }
        }
        return start.resolve(DEFAULT_TRACE);
    }

    /** Loads {@code spec}: a JSONL file path or {@code gen:...}; at most {@code limit} requests. */
    public static Workload load(String spec, int limit, long seed, String model) throws IOException {
        if (!spec.startsWith("gen:")) {
            return new Workload("mooncake", mooncake(Path.of(spec), limit, seed, model), model, List.of());
        }
        String[] parts = spec.substring(4).split(":", 2);
        Map<String, String> params = new LinkedHashMap<>();
        if (parts.length > 1) {
            for (String kv : parts[1].split(",")) {
                String[] p = kv.split("=", 2);
                params.put(p[0].trim(), p.length > 1 ? p[1].trim() : "");
            }
        }
        return switch (parts[0]) {
            case "shared-prefix" -> new Workload(parts[0], sharedPrefix(params, limit, seed, model), model, List.of());
            case "multi-turn" -> new Workload(parts[0], multiTurn(params, limit, seed, model), model, List.of());
            case "agentic" -> new Workload(parts[0], Generators.agentic(params, limit, seed, model), model,
                    List.of());
            case "heavy-tail" -> new Workload(parts[0], Generators.heavyTail(params, limit, seed, model), model,
                    List.of());
            case "bursts" -> new Workload(parts[0], Generators.bursts(params, limit, seed, model), model,
                    List.of());
            case "decode-heavy" -> new Workload(parts[0], Generators.decodeHeavy(params, limit, seed, model), model,
                    List.of());
            case "rag" -> new Workload(parts[0], Generators.rag(params, limit, seed, model), model, List.of());
            case "tenants" -> new Workload(parts[0], Generators.tenants(params, limit, seed, model), model, List.of(),
                    Generators.TENANT_OBJECTIVES);
            case "lora-mix" -> {
                int adapters = intParam(params, "adapters", 6);
                List<String> loras = new ArrayList<>();
                for (int i = 0; i < adapters; i++) {
                    loras.add("adapter-" + i);
                }
                yield new Workload(parts[0], loraMix(params, limit, seed, loras), model, loras);
            }
            default -> throw new IllegalArgumentException("unknown generated workload: " + parts[0]
                    + " (" + String.join(", ", GENERATED) + ")");
        };
    }

    /**
     * The Mooncake trace: each hash id becomes the same ~512-token block of words wherever it appears, so
     * equal id prefixes are equal text prefixes; the prompt is cut to {@code input_length} tokens.
     */
    static List<TraceRequest> mooncake(Path file, int limit, long seed, String model) throws IOException {
        List<TraceRequest> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null && out.size() < limit) {
                if (line.isBlank()) {
                    continue;
                }
                Map<String, Object> o = Json.parseObject(line);
                long ts = ((Double) o.get("timestamp")).longValue();
                int input = ((Double) o.get("input_length")).intValue();
                int output = Math.max(1, ((Double) o.get("output_length")).intValue());
                @SuppressWarnings("unchecked")
                List<Object> ids = (List<Object>) o.get("hash_ids");
                StringBuilder sb = new StringBuilder(input * 4 + 64);
                for (Object id : ids) {
                    appendBlock(sb, seed, ((Double) id).longValue(), MOONCAKE_BLOCK_TOKENS);
                    if (sb.length() >= input * 4) {
                        break;
                    }
                }
                sb.setLength(Math.min(sb.length(), input * 4));
                out.add(new TraceRequest(ts, model, sb.toString(), output));
            }
        }
        return out;
    }

    /** Appends ~{@code tokens} tokens of words derived only from {@code (seed, id)}. */
    static void appendBlock(StringBuilder sb, long seed, long id, int tokens) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id);
        int target = sb.length() + tokens * 4;
        while (sb.length() < target) {
            int syl = 1 + r.nextInt(3);
            for (int i = 0; i < syl; i++) {
                sb.append(SYLLABLES[r.nextInt(SYLLABLES.length)]);
            }
            sb.append(' ');
        }
        sb.setLength(target);
    }

    /**
     * {@code groups} system prompts of {@code prefix} tokens, each request one of them plus a
     * {@code question}-token question; Poisson arrivals at {@code rate} requests per simulated second.
     */
    static List<TraceRequest> sharedPrefix(Map<String, String> p, int limit, long seed, String model) {
        int groups = intParam(p, "groups", 32);
        int prefix = intParam(p, "prefix", 4000);
        int question = intParam(p, "question", 200);
        int output = intParam(p, "output", 200);
        double rate = doubleParam(p, "rate", 6);
        return Generators.poisson(limit, rate, new SplittableRandom(seed), model, (i, r, sb) -> {
            appendBlock(sb, seed, 1_000_000L + r.nextInt(groups), prefix);
            appendBlock(sb, seed, 2_000_000L + i, question);
            return output;
        });
    }

    /**
     * {@code sessions} chats arriving over time; each turn re-sends the whole history plus a new
     * {@code question}-token message, {@code think} simulated seconds after the previous turn.
     */
    static List<TraceRequest> multiTurn(Map<String, String> p, int limit, long seed, String model) {
        int sessions = intParam(p, "sessions", Math.max(1, limit / 8));
        int system = intParam(p, "system", 1000);
        int question = intParam(p, "question", 300);
        int answer = intParam(p, "output", 150);
        double think = doubleParam(p, "think", 10);
        double rate = doubleParam(p, "rate", 1.0);
        SplittableRandom r = new SplittableRandom(seed);
        List<TraceRequest> out = new ArrayList<>();
        double start = 0;
        int turnsPerSession = Math.max(1, (limit + sessions - 1) / sessions);
        for (int s = 0; s < sessions && out.size() < limit; s++) {
            start += -Math.log(1 - r.nextDouble()) / rate * 1000;
            StringBuilder history = new StringBuilder();
            appendBlock(history, seed, 3_000_000L + s % 4, system);
            double t = start;
            for (int turn = 0; turn < turnsPerSession && out.size() < limit; turn++) {
                appendBlock(history, seed, 4_000_000L + s * 1000L + turn * 2L, question);
                out.add(new TraceRequest((long) t, model, history.toString(), answer));
                appendBlock(history, seed, 4_000_000L + s * 1000L + turn * 2L + 1, answer);
                t += think * 1000 * (0.5 + r.nextDouble());
            }
        }
        out.sort((a, b) -> Long.compare(a.arrivalMs(), b.arrivalMs()));
        return out;
    }

    /** Requests spread over LoRA adapters (Zipf-like: adapter i has weight 1/(i+1)), each with its own prefix. */
    static List<TraceRequest> loraMix(Map<String, String> p, int limit, long seed, List<String> loras) {
        int prefix = intParam(p, "prefix", 1000);
        int question = intParam(p, "question", 200);
        int output = intParam(p, "output", 100);
        double rate = doubleParam(p, "rate", 8);
        double[] cdf = new double[loras.size()];
        double sum = 0;
        for (int i = 0; i < cdf.length; i++) {
            sum += 1.0 / (i + 1);
            cdf[i] = sum;
        }
        SplittableRandom r = new SplittableRandom(seed);
        List<TraceRequest> out = new ArrayList<>();
        double t = 0;
        for (int i = 0; i < limit; i++) {
            t += -Math.log(1 - r.nextDouble()) / rate * 1000;
            double u = r.nextDouble() * sum;
            int a = 0;
            while (cdf[a] < u) {
                a++;
            }
            StringBuilder sb = new StringBuilder();
            appendBlock(sb, seed, 5_000_000L + a, prefix);
            appendBlock(sb, seed, 6_000_000L + i, question);
            out.add(new TraceRequest((long) t, loras.get(a), sb.toString(), output));
        }
        return out;
    }

    static int intParam(Map<String, String> p, String k, int d) {
        return p.containsKey(k) ? Integer.parseInt(p.get(k)) : d;
    }

    static double doubleParam(Map<String, String> p, String k, double d) {
        return p.containsKey(k) ? Double.parseDouble(p.get(k)) : d;
    }
}
