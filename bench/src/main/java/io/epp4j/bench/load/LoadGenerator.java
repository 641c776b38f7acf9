package io.epp4j.bench.load;

import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.extproc.NoopExtProcServer;
import io.epp4j.bench.stack.EmbeddedEpp;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.Messages;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Decision-speed load generator: opens one ext_proc stream per simulated request over loopback TCP gRPC and
 * sends a gateway's request-side sequence (headers with protocol_config, body frames without waiting). A decision
 * is complete when the headers answer and the echo of the last body chunk have arrived; the stream is then
 * half-closed.
 *
 * <p>{@code --rps R} is open-loop (latency counted from each request's intended start, so queueing in the
 * target is not hidden), sent from each connection's own event loop, which also reads the answers, as a gateway's
 * worker thread does; {@code --max} keeps {@code --concurrency} decisions in flight. With
 * {@code --open-streams N --chunks-per-s R}, N more requests stay open throughout, their responses streaming R
 * chunks a second each through the target (as a gateway forwards them); the reported latencies are the new
 * decisions' only.
 */
public final class LoadGenerator {

    private static final int FRAME_BYTES = 16 * 1024;

    /**
     * Settings of one run.
     *
     * @param openStreams requests kept open whose responses stream while the new decisions are measured (0: none)
     * @param chunksPerSecond response chunks a second on each open stream
     * @param connections HTTP/2 connections, each with its own event loop; decisions and open streams are spread
     *     round-robin over them
     */
    public record Settings(double rps, boolean max, int concurrency, double durationSeconds, double warmupSeconds,
                           int bodyBytes, Dialect profile, long seed, int openStreams, double chunksPerSecond,
                           int connections) {

        /** Without open streams, over one connection. */
        public Settings(double rps, boolean max, int concurrency, double durationSeconds, double warmupSeconds,
                        int bodyBytes, Dialect profile, long seed) {
            this(rps, max, concurrency, durationSeconds, warmupSeconds, bodyBytes, profile, seed, 0, 0, 1);
        }

        /** The same load at full speed: {@code concurrency} decisions in flight (the warm-up's first part). */
        Settings fullSpeed() {
            return new Settings(0, true, concurrency, durationSeconds, warmupSeconds, bodyBytes, profile, seed,
                    openStreams, chunksPerSecond, connections);
        }
    }

    /**
     * What one run measured.
     *
     * @param responseChunksPerSecond response chunks the target echoed a second on the open streams
     */
    public record Result(String target, long decisions, long errors, double seconds, Histogram latencyMicros,
                         double cpuMicrosPerDecision, WarmUp warmUp, double responseChunksPerSecond) {
        public double decisionsPerSecond() {
            return decisions / seconds;
        }

        public double p(double percentile) {
            return latencyMicros.getTotalCount() == 0 ? Double.NaN : latencyMicros.getValueAtPercentile(percentile);
        }

        Map<String, Object> json(Settings s, int endpoints) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("target", target);
            m.put("mode", s.max() ? "max" : "rps");
            m.put("offered_rps", s.max() ? null : s.rps());
            m.put("concurrency", s.max() ? s.concurrency() : null);
            m.put("body_bytes", (long) s.bodyBytes());
            m.put("endpoints", (long) endpoints);
            m.put("profile", s.profile().flagValue());
            m.put("connections", (long) s.connections());
            m.put("open_streams", (long) s.openStreams());
            m.put("chunks_per_s_per_stream", s.chunksPerSecond());
            m.put("response_chunks_per_s", responseChunksPerSecond);
            m.put("duration_s", seconds);
            m.put("decisions", decisions);
            m.put("decisions_per_s", decisionsPerSecond());
            m.put("p50_us", p(50));
            m.put("p90_us", p(90));
            m.put("p99_us", p(99));
            m.put("p999_us", p(99.9));
            m.put("max_us", (double) latencyMicros.getMaxValue());
            m.put("errors", errors);
            m.put("cpu_us_per_decision", cpuMicrosPerDecision);
            m.put("warmup_s", warmUp.seconds());
            m.put("jit_quiet_before_measuring", warmUp.jitQuiet());
            return m;
        }
    }

    private LoadGenerator() {
    }

    /** {@code load --target HOST:PORT|embedded|noop ...}. */
    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("target", "rps", "duration", "warmup", "body-bytes", "endpoints", "out",
                "concurrency", "profile", "seed", "epp-config", "scrape-interval", "open-streams", "chunks-per-s",
                "connections"), Set.of("tls", "max", "compare-noop", "tracing"));
        String target = f.required("target");
        if (f.has("rps") == f.bool("max")) {
            throw new Flags.UsageException("give exactly one of --rps R and --max");
        }
        Dialect profile;
        try {
            profile = Dialect.parse(f.string("profile", "agentgateway"));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        double duration = f.decimal("duration", 10);
        int openStreams = f.integer("open-streams", 0);
        double chunksPerSecond = f.decimal("chunks-per-s", openStreams > 0 ? 20 : 0);
        int connections = f.integer("connections", 1);
        if (openStreams < 0 || connections < 1 || openStreams > 0 && chunksPerSecond <= 0) {
            throw new Flags.UsageException("--open-streams must be >= 0, --connections >= 1, --chunks-per-s > 0");
        }
        Settings s = new Settings(f.decimal("rps", 0), f.bool("max"), f.integer("concurrency", 32), duration,
                f.decimal("warmup", Connection.DEFAULT_WARMUP_SECONDS), f.integer("body-bytes", 1024), profile,
                f.longValue("seed", 42), openStreams, chunksPerSecond, connections);
        int endpoints = f.integer("endpoints", 64);
        boolean tls = f.bool("tls");
        boolean withNoop = target.equals("noop") || f.bool("compare-noop");
        String scrapeInterval = f.positiveDuration("scrape-interval", "50ms");
        if (!List.of("embedded", "noop").contains(target) && target.lastIndexOf(':') <= 0) {
            throw new Flags.UsageException("--target wants HOST:PORT, embedded or noop");
        }
        List<Result> results = new ArrayList<>();
        // The no-op baseline is warmed up first and measured last, once the EPP (and its scraping) has stopped:
        // both are measured with the JIT done and nothing else running in this JVM.
        try (NoopExtProcServer noop = withNoop ? NoopExtProcServer.start(0, "127.0.0.1:8000") : null;
             Connection baseline = noop == null ? null
                     : Connection.open(new Target("no-op ext_proc", "127.0.0.1", noop.port(), false))) {
            WarmUp baselineWarmUp = baseline == null ? null : baseline.warmUp(s);
            if (target.equals("embedded")) {
                try (MetricsStubFleet fleet = new MetricsStubFleet(endpoints, s.seed());
                     EmbeddedEpp epp = EmbeddedEpp.start(fleet.addresses(), tls, f.string("epp-config", null),
                             "--refresh-metrics-interval", scrapeInterval, "--tracing=" + f.bool("tracing"));
                     Connection c = Connection.open(new Target("epp (embedded, " + endpoints + " endpoints)",
                             "127.0.0.1", epp.grpcPort(), tls), connections)) {
                    results.add(c.measure(s, c.warmUp(s), out));
                }
            } else if (!target.equals("noop")) {
                int colon = target.lastIndexOf(':');
                try (Connection c = Connection.open(new Target(target, target.substring(0, colon),
                        Integer.parseInt(target.substring(colon + 1)), tls), connections)) {
                    results.add(c.measure(s, c.warmUp(s), out));
                }
            }
            if (baseline != null) {
                results.add(baseline.measure(s, baselineWarmUp, out));
            }
        }
        printTable(out, s, endpoints, results);
        if (f.has("out")) {
            StringBuilder json = new StringBuilder();
            Result main = results.get(0);
            Map<String, Object> m = main.json(s, endpoints);
            if (results.size() > 1) {
                Result base = results.get(1);
                m.put("baseline", new Json.RawJson(Json.object(base.json(s, endpoints)).trim().replace("\n", "\n  ")));
                CostRatios ratios = CostRatios.of(main, base);
                m.put("cost_ratio_p50", ratios.p50());
                m.put("cost_ratio_p99", ratios.p99());
                m.put("cost_ratio_cpu", ratios.cpuPerDecision());
                m.put("throughput_ratio_baseline_over_target", ratios.baselineThroughput());
            }
            json.append(Json.object(m));
            Path p = Path.of(f.string("out", "load.json"));
            if (p.getParent() != null) {
                Files.createDirectories(p.getParent());
            }
            Files.writeString(p, json, StandardCharsets.UTF_8);
        }
        return 0;
    }

    static void printTable(PrintStream out, Settings s, int endpoints, List<Result> results) {
        out.printf(Locale.ROOT, "%s, body %d B, %d endpoints, profile %s, %d connection%s%s%n",
                s.max() ? "max throughput, concurrency " + s.concurrency() : "open loop at " + s.rps() + " req/s",
                s.bodyBytes(), endpoints, s.profile().flagValue(), s.connections(), s.connections() == 1 ? "" : "s",
                s.openStreams() == 0 ? "" : String.format(Locale.ROOT, ", %d open streams x %.0f chunks/s",
                        s.openStreams(), s.chunksPerSecond()));
        out.printf(Locale.ROOT, "%-34s %12s %9s %9s %9s %9s %9s %7s %14s %10s%n", "target", "decisions/s", "p50 us",
                "p90 us", "p99 us", "p99.9 us", "max us", "errors", "cpu us/decision", "chunks/s");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-34s %12.0f %9.0f %9.0f %9.0f %9.0f %9d %7d %14.1f %10.0f%n", r.target(),
                    r.decisionsPerSecond(), r.p(50), r.p(90), r.p(99), r.p(99.9), r.latencyMicros().getMaxValue(),
                    r.errors(), r.cpuMicrosPerDecision(), r.responseChunksPerSecond());
        }
        if (results.size() > 1) {
            CostRatios ratios = CostRatios.of(results.get(0), results.get(1));
            out.printf(Locale.ROOT, "cost ratio target/no-op: p50 %.2f, p99 %.2f, cpu per decision %.2f, "
                            + "throughput (no-op/target) %.2f%n",
                    ratios.p50(), ratios.p99(), ratios.cpuPerDecision(), ratios.baselineThroughput());
        }
    }

    /** The measured target against the no-op baseline: its cost per decision, and the baseline's throughput. */
    record CostRatios(double p50, double p99, double cpuPerDecision, double baselineThroughput) {
        static CostRatios of(Result target, Result baseline) {
            return new CostRatios(target.p(50) / baseline.p(50), target.p(99) / baseline.p(99),
                    target.cpuMicrosPerDecision() / baseline.cpuMicrosPerDecision(),
                    baseline.decisionsPerSecond() / target.decisionsPerSecond());
        }
    }

    /**
     * How a warm-up went: its length, its settling rounds at the measured load, and whether the JIT had gone quiet
     * by the last one (if not, it stopped at the time limit and the measurement may include compilation).
     */
    public record WarmUp(double seconds, int settleRounds, boolean jitQuiet) {
        static final WarmUp NONE = new WarmUp(0, 0, false);

        public String describe() {
            if (this.equals(NONE)) {
                return "not warmed up (--warmup 0)";
            }
            return String.format(Locale.ROOT, "warmed up %.1f s (%d settling round%s, %s)", seconds, settleRounds,
                    settleRounds == 1 ? "" : "s", jitQuiet ? "JIT quiet" : "JIT still compiling at the time limit");
        }
    }

    /** An ext_proc server to measure. */
    public record Target(String label, String host, int port, boolean tls) {
    }

    /** 64 distinct request message sequences (different prompts), reused round-robin. */
    static List<List<ProcessingRequest>> sequences(Settings s) {
        List<List<ProcessingRequest>> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(s.seed());
        String[] words = {"alpha", "beta", "gamma", "delta", "route", "cache", "token", "model", "pod", "gate"};
        for (int i = 0; i < 64; i++) {
            String head = "{\"model\":\"Qwen/Qwen3-8B\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"";
            String tail = "\"}]}";
            StringBuilder content = new StringBuilder();
            while (head.length() + content.length() + tail.length() < s.bodyBytes()) {
                content.append(words[r.nextInt(words.length)]).append(' ');
            }
            content.setLength(Math.max(0, s.bodyBytes() - head.length() - tail.length()));
            byte[] body = (head + content + tail).getBytes(StandardCharsets.UTF_8);
            Map<String, String> headers = Messages.post("/v1/chat/completions", body.length,
                    "user-agent", "epp4j-load/1", "accept", "*/*", "x-request-id", "load-" + i,
                    "x-gateway-base-model-name", "Qwen/Qwen3-8B");
            out.add(List.copyOf(Messages.request(s.profile(), headers, body, FRAME_BYTES)));
        }
        return out;
    }
}
