package io.epp4j.bench.scoreboard;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.replay.Workloads;
import io.epp4j.bench.sim.EngineModel;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.KvTransfer;
import io.epp4j.bench.sim.References;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.epp.EppOptions;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code pd --prefill-pods P --decode-pods D [...]}: prefill/decode disaggregation against aggregated serving on
 * the same number of simulated GPUs, in simulated time (the fleet simulation's step engines, the EPP's real
 * scheduling in-process, the decode pods' sidecars pulling KV over a modelled link). Policy {@code pd} runs
 * {@code bench/configs/pd.yaml} on P pods labelled {@code prefill}, D labelled {@code decode} and
 * {@code --both-pods} B labelled {@code both}, once per {@code --thresholds} value of its decider's
 * {@code nonCachedTokens}; so does every policy named {@code pd-*} with its own config; every other policy runs on
 * P + D + B aggregated pods. Each run writes {@code summary.json}; the whole sweep {@code pd.md} and {@code pd.csv}.
 */
public final class PdBench {

    static final String PD = "pd";

    private PdBench() {
    }

    /** One run's figures. */
    record Row(double load, double rate, String policy, int threshold, int requests, int served, double ttftP50,
               double ttftP90, double ttftP99, double itlP50, double itlP90, double itlP99, double outputTokensPerSec,
               double disaggregatedShare, int fallbacks, double meanTransferMs, double hitRate) {

        String label() {
            return disaggregated(policy) ? policy + " (nonCachedTokens " + threshold + ")" : policy;
        }
    }

    /** Whether {@code policy} runs on the pods with roles: {@code pd} and every {@code pd-*} variant. */
    static boolean disaggregated(String policy) {
        return policy.equals(PD) || policy.startsWith(PD + "-");
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("trace", "prefill-pods", "decode-pods", "policies",
                "both-pods", "thresholds", "loads", "rates", "requests", "seed", "out", "model", "configs",
                "scrape-interval", "kv-bytes-per-token", "kv-gbps", "kv-setup-ms", "pd-handshake-ms",
                "prefill-timeout-ms")), Set.of());
        int prefill = f.integer("prefill-pods", 2);
        int decode = f.integer("decode-pods", 2);
        int both = f.integer("both-pods", 0);
        if (prefill < 0 || decode < 0 || both < 0 || decode + both < 1 || prefill + both < 1) {
            throw new Flags.UsageException("--prefill-pods, --decode-pods and --both-pods must be >= 0, with at"
                    + " least one pod that decodes and one that prefills");
        }
        String model = f.string("model", "Qwen/Qwen3-8B");
        long seed = f.longValue("seed", 42);
        Workloads.Workload workload = Workloads.load(f.string("trace", Workloads.defaultTrace(Path.of(""))
                .toString()), f.integer("requests", 300), seed, model);
        SimConfig sim = SimFlags.config(f, model, Replay.lanesDefaults(workload, model)).withSeed(seed);
        if (sim.engineModel() != EngineModel.STEP) {
            throw new Flags.UsageException("pd needs the step engine model (prefills slowing decodes is the point)");
        }
        KvTransfer transfer = new KvTransfer(f.longValue("kv-bytes-per-token", KvTransfer.DEFAULT.kvBytesPerToken()),
                f.decimal("kv-gbps", KvTransfer.DEFAULT.gigabytesPerSecond()),
                f.decimal("kv-setup-ms", KvTransfer.DEFAULT.setupMs()),
                f.decimal("pd-handshake-ms", KvTransfer.DEFAULT.handshakeMs()),
                f.decimal("prefill-timeout-ms", KvTransfer.DEFAULT.prefillTimeoutMs()));
        List<String> policies = List.of(f.string("policies", "round-robin,epp4j," + PD).split(","));
        List<Integer> thresholds = Arrays.stream(f.string("thresholds", "2048").split(",")).map(String::trim)
                .map(Integer::parseInt).toList();
        Path configs = f.has("configs") ? Path.of(f.string("configs", "")) : Replay.defaultConfigs(Path.of(""));
        long scrapeNanos = EppOptions.parseDuration(f.positiveDuration("scrape-interval", "50ms")).toNanos();
        int pods = prefill + decode + both;
        List<SimConfig> fleet = FleetSimulation.uniform(sim, pods);
        List<String> aggregated = Collections.nCopies(pods, null);
        List<String> roles = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            roles.add(i < prefill ? "prefill" : i < prefill + decode ? "decode" : "both");
        }
        List<Double> rates = new ArrayList<>();
        List<Double> loads = new ArrayList<>();
        double capacity = Double.NaN;
        if (f.has("rates")) {
            for (String r : f.string("rates", "").split(",")) {
                rates.add(Double.parseDouble(r));
                loads.add(Double.NaN);
            }
        } else {
            capacity = Scoreboard.capacity(n -> Workloads.load(f.string("trace", Workloads.defaultTrace(Path.of(""))
                    .toString()), n, seed, model), workload.requests().size(), sim, pods);
            for (String l : f.string("loads", "0.5,0.8").split(",")) {
                loads.add(Double.parseDouble(l));
                rates.add(Double.parseDouble(l) * capacity);
            }
        }
        Path outDir = Path.of(f.required("out"));
        Files.createDirectories(outDir);
        out.printf(Locale.ROOT, "pd %s: %d requests, %d prefill + %d decode + %d both pods (the same %d pods"
                        + " aggregated for the other policies), %s, KV %d B/token over %.1f GB/s + %.1f ms%s%n",
                workload.name(), workload.requests().size(), prefill, decode, both, pods, sim.step().name(),
                transfer.kvBytesPerToken(), transfer.gigabytesPerSecond(), transfer.setupMs(),
                Double.isNaN(capacity) ? "" : String.format(Locale.ROOT, ", aggregated capacity %.2f req/s", capacity));
        List<Row> rows = new ArrayList<>();
        for (int k = 0; k < rates.size(); k++) {
            double rate = rates.get(k);
            List<FleetSimulation.Arrival> arrivals = Family.atRate(workload, rate);
            for (String policy : policies) {
                for (int threshold : disaggregated(policy) ? thresholds : List.of(0)) {
                    FleetSimulation.Run run;
                    if (policy.equals(Scoreboard.ROUND_ROBIN)) {
                        run = FleetSimulation.run(arrivals, fleet, null, (i, a, now, fl) -> i % fl.size(), transfer);
                    } else {
                        Path file = configs.resolve(policy + ".yaml");
                        if (!Files.isRegularFile(file)) {
                            throw new Flags.UsageException("no config for policy " + policy + " (" + file + ")");
                        }
                        String yaml = Files.readString(file);
                        if (disaggregated(policy)) {
                            yaml = withThreshold(yaml, threshold);
                        }
                        try (EppRouter epp = new EppRouter(yaml, file.toString(), disaggregated(policy) ? roles
                                : aggregated, seed, scrapeNanos, EppRouter.KvEventDrop.NONE)) {
                            run = FleetSimulation.run(arrivals, fleet, null, epp, transfer);
                        }
                    }
                    Row row = row(loads.get(k), rate, policy, threshold, run);
                    rows.add(row);
                    Path dir = outDir.resolve(String.format(Locale.ROOT, "rate-%.2f", rate))
                            .resolve(disaggregated(policy) ? policy + "-" + threshold : policy);
                    Files.createDirectories(dir);
                    Files.writeString(dir.resolve("summary.json"), summary(row, workload.name(), prefill, decode,
                            both));
                    out.printf(Locale.ROOT, "  %6.2f req/s %-32s TTFT p50 %7.0f p90 %7.0f ms  ITL p90 %6.1f p99 %6.1f"
                                    + " ms  %7.0f tok/s  disagg %3.0f%%  fallbacks %d%n", rate, row.label(),
                            row.ttftP50(), row.ttftP90(), row.itlP90(), row.itlP99(), row.outputTokensPerSec(),
                            100 * row.disaggregatedShare(), row.fallbacks());
                }
            }
        }
        Files.writeString(outDir.resolve("pd.csv"), csv(rows));
        Files.writeString(outDir.resolve("pd.md"), table(rows));
        out.printf("wrote %s%n", outDir.resolve("pd.md"));
        return 0;
    }

    /** The pd config with its decider's {@code nonCachedTokens} set to {@code threshold}. */
    static String withThreshold(String yaml, int threshold) {
        String out = yaml.replaceFirst("nonCachedTokens: \\d+", "nonCachedTokens: " + threshold);
        if (out.equals(yaml) && !yaml.contains("nonCachedTokens: " + threshold)) {
            throw new IllegalArgumentException("the pd config sets no nonCachedTokens to sweep");
        }
        return out;
    }

    static Row row(double load, double rate, String policy, int threshold, FleetSimulation.Run run) {
        double[] ttft = References.sortedTtfts(run);
        double[] gaps = run.tokenGapsMs().clone();
        Arrays.sort(gaps);
        long first = Long.MAX_VALUE;
        long last = 0;
        long tokens = 0;
        long prompt = 0;
        long cached = 0;
        int served = 0;
        for (FleetSimulation.Outcome o : run.outcomes()) {
            first = Math.min(first, o.arrivalNanos());
            if (o.served()) {
                served++;
                last = Math.max(last, o.finishedNanos());
                tokens += o.outputTokens();
                prompt += o.promptTokens();
                cached += o.cachedTokens();
            }
        }
        FleetSimulation.PdStats pd = run.pd();
        int n = run.outcomes().size();
        return new Row(load, rate, policy, threshold, n, served, References.percentile(ttft, 50),
                References.percentile(ttft, 90), References.percentile(ttft, 99), References.percentile(gaps, 50),
                References.percentile(gaps, 90), References.percentile(gaps, 99),
                last > first ? tokens / ((last - first) / 1e9) : 0, n == 0 ? 0 : (double) pd.disaggregated() / n,
                pd.fallbacks(), pd.disaggregated() == 0 ? 0 : pd.transferMsTotal() / pd.disaggregated(),
                prompt == 0 ? 0 : (double) cached / prompt);
    }

    static String summary(Row r, String workload, int prefill, int decode, int both) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("workload", workload);
        m.put("policy", r.policy());
        if (disaggregated(r.policy())) {
            m.put("non_cached_tokens", r.threshold());
            m.put("prefill_pods", prefill);
            m.put("decode_pods", decode);
            m.put("both_pods", both);
        } else {
            m.put("pods", prefill + decode + both);
        }
        m.put("rate_rps", r.rate());
        m.put("load", r.load());
        m.put("requests", r.requests());
        m.put("served", r.served());
        m.put("ttft_p50_ms", r.ttftP50());
        m.put("ttft_p90_ms", r.ttftP90());
        m.put("ttft_p99_ms", r.ttftP99());
        m.put("itl_p50_ms", r.itlP50());
        m.put("itl_p90_ms", r.itlP90());
        m.put("itl_p99_ms", r.itlP99());
        m.put("output_tokens_per_s", r.outputTokensPerSec());
        m.put("hit_rate", r.hitRate());
        m.put("disaggregated_share", r.disaggregatedShare());
        m.put("decode_only_fallbacks", r.fallbacks());
        m.put("mean_kv_transfer_ms", r.meanTransferMs());
        m.put("time", "simulated");
        return Json.object(m) + "\n";
    }

    static String csv(List<Row> rows) {
        StringBuilder sb = new StringBuilder("load,rate_rps,policy,non_cached_tokens,requests,served,ttft_p50_ms,"
                + "ttft_p90_ms,ttft_p99_ms,itl_p50_ms,itl_p90_ms,itl_p99_ms,output_tokens_per_s,disaggregated_share,"
                + "fallbacks,mean_kv_transfer_ms,hit_rate\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "%.2f,%.3f,%s,%d,%d,%d,%.1f,%.1f,%.1f,%.2f,%.2f,%.2f,%.1f,%.3f,%d,"
                            + "%.2f,%.3f%n", r.load(), r.rate(), r.policy(), r.threshold(), r.requests(), r.served(),
                    r.ttftP50(), r.ttftP90(), r.ttftP99(), r.itlP50(), r.itlP90(), r.itlP99(), r.outputTokensPerSec(),
                    r.disaggregatedShare(), r.fallbacks(), r.meanTransferMs(), r.hitRate()));
        }
        return sb.toString();
    }

    /** A markdown table, each rate's rows with their ratio to {@code epp4j} (or the first policy) at that rate. */
    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| rate (req/s) | policy | TTFT p50 ms | TTFT p90 ms | ITL p90 ms |"
                + " ITL p99 ms | output tok/s | disaggregated | fallbacks | KV transfer ms |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            Row base = rows.stream().filter(b -> b.rate() == r.rate() && b.policy().equals("epp4j")).findFirst()
                    .orElse(rows.stream().filter(b -> b.rate() == r.rate()).findFirst().orElseThrow());
            sb.append(String.format(Locale.ROOT, "| %.2f | %s | %.0f (%.2fx) | %.0f (%.2fx) | %.1f (%.2fx) |"
                            + " %.1f (%.2fx) | %.0f (%.2fx) | %.0f%% | %d | %.1f |%n", r.rate(), r.label(),
                    r.ttftP50(), r.ttftP50() / base.ttftP50(), r.ttftP90(), r.ttftP90() / base.ttftP90(),
                    r.itlP90(), r.itlP90() / base.itlP90(), r.itlP99(), r.itlP99() / base.itlP99(),
                    r.outputTokensPerSec(),
                    r.outputTokensPerSec() / base.outputTokensPerSec(), 100 * r.disaggregatedShare(), r.fallbacks(),
                    r.meanTransferMs()));
        }
        return sb.toString();
    }
}
