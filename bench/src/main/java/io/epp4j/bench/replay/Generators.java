package io.epp4j.bench.replay;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static io.epp4j.bench.replay.Workloads.appendBlock;
import static io.epp4j.bench.replay.Workloads.doubleParam;
import static io.epp4j.bench.replay.Workloads.intParam;

/**
 * The generated workloads beyond the first three: agentic sessions on hot shared prompts, unshared heavy-tailed
 * lengths, bursts and decode-heavy traffic. Every length is in tokens (4 characters each), every time in simulated
 * seconds; the same seed gives the same requests.
 */
final class Generators {

    /** Text ids of each generator, far apart so their blocks never collide. */
    private static final long TOOL_TEXT = 7_000_000L;
    private static final long SESSION_TEXT = 8_000_000_000L;
    private static final long OWN_TEXT = 9_000_000_000L;

    private Generators() {
    }

    /**
     * {@code gen:agentic}: agent sessions. {@code tools} shared system/tool prompts (default 6) of
     * {@code toolTokens} tokens each (default 12,000, each prompt within ±50% of it), chosen with Zipf popularity
     * ({@code zipf}, default 1.2: the first is the hottest); each session runs {@code minTurns}..{@code maxTurns}
     * turns (default 3..12) that grow by the previous answer and a tool result of up to {@code toolOutput} tokens
     * (default 3,000) after {@code think} seconds (default 2, ±50%), each answer {@code output} tokens (default
     * 250, ±60%). New sessions arrive at {@code rate} per second (default 1). Prompts average about 21,000
     * tokens with the defaults.
     */
    static List<TraceRequest> agentic(Map<String, String> p, int limit, long seed, String model) {
        int tools = intParam(p, "tools", 6);
        int toolTokens = intParam(p, "toolTokens", 12_000);
        double zipf = doubleParam(p, "zipf", 1.2);
        int minTurns = intParam(p, "minTurns", 3);
        int maxTurns = intParam(p, "maxTurns", 12);
        int toolOutput = intParam(p, "toolOutput", 3000);
        double think = doubleParam(p, "think", 2);
        int output = intParam(p, "output", 250);
        double rate = doubleParam(p, "rate", 1);
        SplittableRandom r = new SplittableRandom(seed);
        int[] toolLength = new int[tools];
        for (int i = 0; i < tools; i++) {
            toolLength[i] = (int) (toolTokens * (0.5 + r.nextDouble()));
        }
        double[] cdf = zipfCdf(tools, zipf);
        List<TraceRequest> out = new ArrayList<>();
        double start = 0;
        for (int session = 0; out.size() < limit; session++) {
            start += exponential(r, rate);
            int tool = pick(r, cdf);
            StringBuilder history = new StringBuilder();
            appendBlock(history, seed, TOOL_TEXT + tool, toolLength[tool]);
            appendBlock(history, seed, SESSION_TEXT + session * 1000L, 200 + r.nextInt(600)); // the task
            int turns = minTurns + r.nextInt(Math.max(1, maxTurns - minTurns + 1));
            double t = start;
            for (int turn = 0; turn < turns && out.size() < limit; turn++) {
                int answer = (int) Math.max(16, output * (0.4 + 1.2 * r.nextDouble()));
                out.add(new TraceRequest((long) (t * 1000), model, history.toString(), answer));
                // the next turn re-sends everything, plus this answer and the tool's result
                appendBlock(history, seed, SESSION_TEXT + session * 1000L + 2L * turn + 1, answer);
                appendBlock(history, seed, SESSION_TEXT + session * 1000L + 2L * turn + 2,
                        100 + r.nextInt(Math.max(1, toolOutput)));
                t += think * (0.5 + r.nextDouble());
            }
        }
        out.sort((a, b) -> Long.compare(a.arrivalMs(), b.arrivalMs()));
        return out;
    }

    /**
     * {@code gen:heavy-tail}: no two prompts share anything; prompt and output lengths log-normal with medians
     * {@code prompt} (default 1,000) and {@code output} (default 200) and spread {@code sigma} (default 1.2),
     * cut at {@code maxPrompt} (default 32,000) and {@code maxOutput} (default 4,000); Poisson arrivals at
     * {@code rate} per second (default 4).
     */
    static List<TraceRequest> heavyTail(Map<String, String> p, int limit, long seed, String model) {
        int prompt = intParam(p, "prompt", 1000);
        int output = intParam(p, "output", 200);
        double sigma = doubleParam(p, "sigma", 1.2);
        int maxPrompt = intParam(p, "maxPrompt", 32_000);
        int maxOutput = intParam(p, "maxOutput", 4000);
        double rate = doubleParam(p, "rate", 4);
        return poisson(limit, rate, new SplittableRandom(seed), model, (i, r, sb) -> {
            appendBlock(sb, seed, OWN_TEXT + i, logNormal(r, prompt, sigma, 16, maxPrompt));
            return logNormal(r, output, sigma, 1, maxOutput);
        });
    }

    /**
     * {@code gen:bursts}: {@code burst} requests (default 40) arrive within {@code spread} seconds (default 0.2),
     * bursts Poisson at {@code rate} per second (default 0.2); each request is one of {@code groups} shared
     * prefixes (default 8) of {@code prefix} tokens (default 3,000) plus its own {@code question} (default 500,
     * ±50%), answered in {@code output} tokens (default 150, ±50%).
     */
    static List<TraceRequest> bursts(Map<String, String> p, int limit, long seed, String model) {
        int burst = intParam(p, "burst", 40);
        double spread = doubleParam(p, "spread", 0.2);
        double rate = doubleParam(p, "rate", 0.2);
        int groups = intParam(p, "groups", 8);
        int prefix = intParam(p, "prefix", 3000);
        int question = intParam(p, "question", 500);
        int output = intParam(p, "output", 150);
        SplittableRandom r = new SplittableRandom(seed);
        List<TraceRequest> out = new ArrayList<>();
        double t = 0;
        while (out.size() < limit) {
            t += exponential(r, rate);
            for (int i = 0; i < burst && out.size() < limit; i++) {
                StringBuilder sb = new StringBuilder();
                appendBlock(sb, seed, TOOL_TEXT + 100 + r.nextInt(groups), prefix);
                appendBlock(sb, seed, OWN_TEXT + out.size(), (int) (question * (0.5 + r.nextDouble())));
                out.add(new TraceRequest((long) ((t + spread * r.nextDouble()) * 1000), model, sb.toString(),
                        (int) Math.max(1, output * (0.5 + r.nextDouble()))));
            }
        }
        out.sort((a, b) -> Long.compare(a.arrivalMs(), b.arrivalMs()));
        return out;
    }

    /**
     * {@code gen:decode-heavy}: short prompts of {@code prompt} tokens (default 150, ±70%) sharing a
     * {@code system} prompt (default 100), long answers of {@code output} tokens (default 300, ±60%); Poisson at
     * {@code rate} per second (default 4).
     */
    static List<TraceRequest> decodeHeavy(Map<String, String> p, int limit, long seed, String model) {
        int prompt = intParam(p, "prompt", 150);
        int system = intParam(p, "system", 100);
        int output = intParam(p, "output", 300);
        double rate = doubleParam(p, "rate", 4);
        return poisson(limit, rate, new SplittableRandom(seed), model, (i, r, sb) -> {
            appendBlock(sb, seed, TOOL_TEXT + 200, system);
            appendBlock(sb, seed, OWN_TEXT + i, (int) Math.max(1, prompt * (0.3 + 1.4 * r.nextDouble())));
            return (int) Math.max(1, output * (0.4 + 1.2 * r.nextDouble()));
        });
    }

    /**
     * {@code gen:rag}: retrieval-augmented questions. A {@code system} prompt shared by every request (default
     * 300 tokens), then {@code docsPerRequest} documents (default 2) drawn from a corpus of {@code docs} (default
     * 40) with Zipf popularity ({@code zipf}, default 0.9), each document's length log-normal around
     * {@code docTokens} (default 3,000, from 500 to 12,000), then a question of about {@code question} tokens
     * (default 80); output around {@code output} tokens (default 200, ±60%); Poisson arrivals at {@code rate} a
     * second (default 4). Only the system prompt and the first document's choice are shared by many requests: a
     * hot document is a long prefix after the short shared one, and the second document splits it again.
     */
    static List<TraceRequest> rag(Map<String, String> p, int limit, long seed, String model) {
        int system = intParam(p, "system", 300);
        int docs = intParam(p, "docs", 40);
        int perRequest = intParam(p, "docsPerRequest", 2);
        int docTokens = intParam(p, "docTokens", 3000);
        int question = intParam(p, "question", 80);
        int output = intParam(p, "output", 200);
        double rate = doubleParam(p, "rate", 4);
        double[] popularity = zipfCdf(docs, doubleParam(p, "zipf", 0.9));
        SplittableRandom r = new SplittableRandom(seed);
        int[] lengths = new int[docs];
        for (int d = 0; d < docs; d++) {
            lengths[d] = logNormal(r, docTokens, 0.7, 500, 12_000);
        }
        return poisson(limit, rate, r, model, (i, rr, sb) -> {
            appendBlock(sb, seed, TOOL_TEXT + 300, system);
            for (int k = 0; k < perRequest; k++) {
                int d = pick(rr, popularity);
                appendBlock(sb, seed, TOOL_TEXT + 1_000 + d, lengths[d]);
            }
            appendBlock(sb, seed, OWN_TEXT + 500_000_000L + i, (int) Math.max(1, question * (0.5 + rr.nextDouble())));
            return (int) Math.max(1, output * (0.4 + 1.2 * rr.nextDouble()));
        });
    }

    /** The four tenants of {@code gen:tenants}: fairness id, objective (class) and share of the arrivals (of 7). */
    static final String[][] TENANTS = {
        {"tenant-critical", "critical", "1"},
        {"tenant-standard-heavy", "standard", "4"},
        {"tenant-standard", "standard", "1"},
        {"tenant-sheddable", "sheddable", "1"}};

    /** The InferenceObjectives {@code gen:tenants} names: critical (priority 1), standard (0), sheddable (-1). */
    static final String TENANT_OBJECTIVES = objective("critical", 1) + "---\n" + objective("standard", 0) + "---\n"
            + objective("sheddable", -1);

    private static String objective(String name, int priority) {
        return "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata: {name: "
                + name + "}\nspec: {priority: " + priority + ", poolRef: {name: pool}}\n";
    }

    /**
     * {@code gen:tenants}: four tenants of one pool, each request carrying its tenant's
     * {@code x-gateway-inference-fairness-id} and {@code x-gateway-inference-objective}: one critical tenant
     * (priority 1), two standard ones (priority 0), of which one sends 4× the others' rate, and one sheddable tenant
     * (priority -1); shares 1 : 4 : 1 : 1 of Poisson arrivals at {@code rate} per second in all (default 4; the
     * replay sets it from {@code load}, see bench/README.md). Nothing is shared between prompts; prompt and output
     * lengths are log-normal with medians {@code prompt} (default 1,000) and {@code output} (default 200), spread
     * 0.5.
     */
    static List<TraceRequest> tenants(Map<String, String> p, int limit, long seed, String model) {
        int prompt = intParam(p, "prompt", 1000);
        int output = intParam(p, "output", 200);
        double rate = doubleParam(p, "rate", 4);
        SplittableRandom tenantPicks = new SplittableRandom(seed ^ 0x7E7A7A5L);
        double[] cdf = new double[TENANTS.length];
        double total = 0;
        for (int i = 0; i < TENANTS.length; i++) {
            total += Double.parseDouble(TENANTS[i][2]);
            cdf[i] = total;
        }
        for (int i = 0; i < cdf.length; i++) {
            cdf[i] /= total;
        }
        List<TraceRequest> out = new ArrayList<>();
        for (TraceRequest r : poisson(limit, rate, new SplittableRandom(seed), model, (i, rr, sb) -> {
            appendBlock(sb, seed, OWN_TEXT + 700_000_000L + i, logNormal(rr, prompt, 0.5, 16, 8 * prompt));
            return logNormal(rr, output, 0.5, 1, 8 * output);
        })) {
            String[] tenant = TENANTS[pick(tenantPicks, cdf)];
            out.add(new TraceRequest(r.arrivalMs(), r.model(), r.prompt(), r.outputTokens(), Map.of(
                    "x-gateway-inference-fairness-id", tenant[0], "x-gateway-inference-objective", tenant[1])));
        }
        return out;
    }

    /** Writes request {@code i}'s prompt into {@code prompt} and returns its output tokens. */
    interface RequestMaker {
        int make(int i, SplittableRandom r, StringBuilder prompt);
    }

    /** {@code limit} requests with Poisson arrivals at {@code rate} a second, each made by {@code maker}. */
    static List<TraceRequest> poisson(int limit, double rate, SplittableRandom r, String model,
                                              RequestMaker maker) {
        List<TraceRequest> out = new ArrayList<>();
        double t = 0;
        for (int i = 0; i < limit; i++) {
            t += exponential(r, rate);
            StringBuilder sb = new StringBuilder();
            int output = maker.make(i, r, sb);
            out.add(new TraceRequest((long) (t * 1000), model, sb.toString(), output));
        }
        return out;
    }

    private static double exponential(SplittableRandom r, double rate) {
        return -Math.log(1 - r.nextDouble()) / rate;
    }

    static double[] zipfCdf(int n, double s) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += 1.0 / Math.pow(i + 1, s);
            cdf[i] = sum;
        }
        for (int i = 0; i < n; i++) {
            cdf[i] /= sum;
        }
        return cdf;
    }

    static int pick(SplittableRandom r, double[] cdf) {
        double u = r.nextDouble();
        int i = 0;
        while (i < cdf.length - 1 && cdf[i] < u) {
            i++;
        }
        return i;
    }

    private static int logNormal(SplittableRandom r, double median, double sigma, int min, int max) {
        double u1 = Math.max(1e-12, r.nextDouble());
        double g = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r.nextDouble());
        return (int) Math.max(min, Math.min(max, Math.round(median * Math.exp(sigma * g))));
    }
}
