package io.epp4j.bench.replay;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.sim.EngineCore;
import io.epp4j.bench.sim.References;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.sim.SimServer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.epp4j.bench.sim.References.percentile;

/** The figures of one policy's replay, and the files they are written to. */
public final class Report {

    /**
     * What the client saw for one request (times in simulated milliseconds).
     *
     * @param status HTTP status, 0 when the connection failed
     * @param ttftModelMs TTFT with the gateway's routing time (body-based routing + EPP decision) counted at its
     *                    real duration instead of multiplied by the speedup
     * @param routingRealMs real milliseconds the gateway spent before calling the pod
     * @param error why the request failed ("" when it did not): the gateway's {@code x-epp4j-gateway-error} when
     *              the gateway answered itself, {@code pod} when a pod answered the error, {@code no-token} when a
     *              stream ended without a token, {@code client} when the client's own connection failed
     * @param detail the error answer's message (or the client's exception), "" when none
     */
    public record Result(int index, double sentMs, int status, String pod, double ttftMs, double e2eMs,
                         double endMs, int outputTokens, int promptTokens, int cachedTokens, double ttftModelMs,
                         double routingRealMs, String error, String detail) {
        /** Cause of a pod's own error answer. */
        static final String POD = "pod";
        /** Cause of a 200 stream that ended without a token. */
        static final String NO_TOKEN = "no-token";
        /** Cause of a failure of the client's own connection. */
        static final String CLIENT = "client";

        static Result failed(int index, double sentMs, int status, String pod, String error, String detail) {
            return new Result(index, sentMs, status, pod, Double.NaN, Double.NaN, Double.NaN, 0, 0, 0, Double.NaN,
                    Double.NaN, error, detail);
        }

        boolean ok() {
            return status == 200;
        }
    }

    /** Per-pod figures: requests served and the pod's own prefix-cache hit rate. */
    public record PodLine(String pod, long requests, double prefixHitRate, long promptTokens) {
    }

    private final String policy;
    private final String workload;
    private final List<Result> results;
    private final List<PodLine> pods;
    private final double[] ttfts;
    private final double[] ttftsModel;
    private final double[] routing;
    private final double[] itls;
    private final double throughput;
    private final double prefixHitRate;
    private final long errors;
    private final long shed;
    private final long warmUpServed;
    private final long primedRequests;
    private final String note;
    private HarnessWatch.Verdict harness;
    /** Per priority class and tenant fairness, for workloads whose requests name objectives; else null. */
    private Map<String, Object> classes;
    private double fairnessJain = Double.NaN;
    private double fairnessJainWhileArriving = Double.NaN;
    private double fairnessJainDispatched = Double.NaN;
    /** Output tokens served to each fairness id, for workloads whose requests name objectives; else null. */
    private Map<String, Long> tenantTokens;
    /** P/D outcomes over the measured run, or null when the pods did not disaggregate. */
    private Map<String, Long> pdOutcomes;
    /** What the EPP still held after the last answer, or null without an EPP. */
    private EppLeftovers leftovers;

    private Report(String policy, String workload, List<Result> results, List<PodLine> pods, double prefixHitRate,
                   long gatewayShed, long warmUpServed, long primedRequests, String note) {
        this.policy = policy;
        this.warmUpServed = warmUpServed;
        this.primedRequests = primedRequests;
        this.workload = workload;
        this.results = results;
        this.pods = pods;
        this.prefixHitRate = prefixHitRate;
        this.note = note;
        this.ttfts = results.stream().filter(Result::ok).mapToDouble(Result::ttftMs).sorted().toArray();
        this.ttftsModel = results.stream().filter(Result::ok).mapToDouble(Result::ttftModelMs).sorted().toArray();
        this.routing = results.stream().filter(Result::ok).mapToDouble(Result::routingRealMs).sorted().toArray();
        this.itls = results.stream().filter(r -> r.ok() && r.outputTokens() > 1)
                .mapToDouble(r -> (r.e2eMs() - r.ttftMs()) / (r.outputTokens() - 1)).sorted().toArray();
        this.errors = results.stream().filter(r -> !r.ok()).count();
        this.shed = Math.max(gatewayShed, results.stream().filter(r -> r.status() == 429).count());
        double first = results.stream().mapToDouble(Result::sentMs).min().orElse(0);
        double last = results.stream().filter(Result::ok).mapToDouble(Result::endMs).max().orElse(first);
        long tokens = results.stream().filter(Result::ok).mapToLong(Result::outputTokens).sum();
        this.throughput = last > first ? tokens / ((last - first) / 1000.0) : 0;
    }

    /**
     * Builds the report; {@code before} holds each server's counters before the measured part, and
     * {@code warmUpServed} counts the warm-up requests the policy's path served before it, {@code primedRequests}
     * the run's priming requests served before any policy was measured.
     */
    static Report of(String policy, String workload, List<Result> results, SimFleet fleet, List<EngineCore.Snapshot> before,
                     long gatewayShed, long warmUpServed, long primedRequests, String note) {
        Map<String, Long> byPod = new LinkedHashMap<>();
        for (SimServer s : fleet.servers()) {
            byPod.put(s.podName(), 0L);
        }
        for (Result r : results) {
            if (!r.pod().isEmpty()) {
                byPod.merge(r.pod(), 1L, Long::sum);
            }
        }
        List<PodLine> pods = new ArrayList<>();
        long hits = 0;
        long queries = 0;
        for (int i = 0; i < fleet.servers().size(); i++) {
            SimServer s = fleet.servers().get(i);
            EngineCore.Snapshot snap = s.snapshot();
            long q = snap.prefixQueries() - before.get(i).prefixQueries();
            long h = snap.prefixHits() - before.get(i).prefixHits();
            hits += h;
            queries += q;
            pods.add(new PodLine(s.podName(), byPod.get(s.podName()), q == 0 ? 0 : (double) h / q,
                    snap.promptTokens() - before.get(i).promptTokens()));
        }
        return new Report(policy, workload, results, pods, queries == 0 ? 0 : (double) hits / queries, gatewayShed,
                warmUpServed, primedRequests, note);
    }

    public String policy() {
        return policy;
    }

    /** What the harness watch saw while this policy was measured, or null. */
    HarnessWatch.Verdict harness() {
        return harness;
    }

    void harness(HarnessWatch.Verdict verdict) {
        this.harness = verdict;
    }

    /** The simulated pods' P/D outcomes over the measured run (policy {@code pd}). */
    void pdOutcomes(Map<String, Long> outcomes) {
        this.pdOutcomes = Map.copyOf(outcomes);
    }

    void leftovers(EppLeftovers left) {
        this.leftovers = left;
    }

    public double ttftP(double p) {
        return percentile(ttfts, p);
    }

    public double throughput() {
        return throughput;
    }

    public double prefixHitRate() {
        return prefixHitRate;
    }

    /** Requests that were answered successfully. */
    public long served() {
        return results.size() - errors;
    }

    public long errors() {
        return errors;
    }

    double[] sortedTtfts() {
        return ttfts;
    }

    /** Max/min requests per pod (1 = perfectly even; infinite when a pod got nothing). */
    double spread() {
        long max = pods.stream().mapToLong(PodLine::requests).max().orElse(0);
        long min = pods.stream().mapToLong(PodLine::requests).min().orElse(0);
        return min == 0 ? (max == 0 ? 1 : Double.POSITIVE_INFINITY) : (double) max / min;
    }

    private double greedyP90 = Double.NaN;
    private double boundP50 = Double.NaN;
    private double boundP90 = Double.NaN;
    private double boundP99 = Double.NaN;

    /** The run's references (computed on the same fleet and workload), for the ratios in the reports. */
    void setReferences(References refs) {
        this.greedyP90 = refs.greedyP(90);
        this.boundP50 = refs.boundP(50);
        this.boundP90 = refs.boundP(90);
        this.boundP99 = refs.boundP(99);
    }

    /**
     * Adds the per-class figures of a workload whose requests name InferenceObjectives ({@code objectives}, the
     * YAML): classes {@code critical} (priority > 0), {@code standard} (0) and {@code sheddable} (< 0), each with
     * its requests, TTFT p90 and requests answered 429 or 503 (flow control's and admission's statuses); and Jain's
     * fairness index over the output tokens served to each tenant ({@code x-gateway-inference-fairness-id}) of
     * the standard class, over the whole run, over requests that ended by the last arrival, and over requests the
     * EPP let go in the second half of the arrivals ({@code speedup} converts the gateway's real routing time).
     */
    void classes(List<TraceRequest> requests, String objectives, double speedup) {
        Map<String, Integer> priorities = io.epp4j.epp.endpoints.ObjectivesFileWatcher.parse(objectives);
        Map<String, List<Result>> byClass = new LinkedHashMap<>();
        for (String c : List.of("critical", "standard", "sheddable")) {
            byClass.put(c, new ArrayList<>());
        }
        Map<String, Long> standardTokens = new LinkedHashMap<>();
        Map<String, Long> whileArriving = new LinkedHashMap<>();
        Map<String, Long> dispatched = new LinkedHashMap<>();
        double lastArrivalMs = results.stream().mapToDouble(Result::sentMs).max().orElse(0);
        tenantTokens = new java.util.TreeMap<>();
        for (Result r : results) {
            Map<String, String> h = requests.get(r.index()).headers();
            int priority = priorities.getOrDefault(h.getOrDefault("x-gateway-inference-objective", ""), 0);
            String c = priority > 0 ? "critical" : priority < 0 ? "sheddable" : "standard";
            byClass.get(c).add(r);
            tenantTokens.merge(h.getOrDefault("x-gateway-inference-fairness-id", "default-flow"),
                    r.ok() ? (long) r.outputTokens() : 0L, Long::sum);
            if (c.equals("standard")) {
                standardTokens.merge(h.getOrDefault("x-gateway-inference-fairness-id", "default-flow"),
                        r.ok() ? (long) r.outputTokens() : 0L, Long::sum);
                // served while requests still arrive: once they stop, the backlog drains and every tenant ends up
                // with whatever it asked for, which hides how the band shared the pool while it was contended
                whileArriving.merge(h.getOrDefault("x-gateway-inference-fairness-id", "default-flow"),
                        r.ok() && r.endMs() <= lastArrivalMs ? (long) r.outputTokens() : 0L, Long::sum);
                // what the EPP granted each tenant once its queue stood: an answer lasts seconds, so the answers
                // that end by the last arrival still include the first ones, admitted in proportion to demand
                // before anything queued, and they weigh on a run of tens of seconds
                double dispatchMs = r.sentMs() + r.routingRealMs() * speedup;
                dispatched.merge(h.getOrDefault("x-gateway-inference-fairness-id", "default-flow"),
                        r.ok() && dispatchMs >= lastArrivalMs / 2 && dispatchMs <= lastArrivalMs
                                ? (long) r.outputTokens() : 0L, Long::sum);
            }
        }
        classes = new LinkedHashMap<>();
        for (Map.Entry<String, List<Result>> e : byClass.entrySet()) {
            List<Result> rs = e.getValue();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("requests", (long) rs.size());
            m.put("ttft_p90_ms", percentile(rs.stream().filter(Result::ok).mapToDouble(Result::ttftMs).sorted()
                    .toArray(), 90));
            m.put("rejected", rs.stream().filter(r -> r.status() == 429 || r.status() == 503).count());
            m.put("other_errors", rs.stream().filter(r -> !r.ok() && r.status() != 429 && r.status() != 503)
                    .count());
            Map<String, Long> statuses = new java.util.TreeMap<>();
            rs.forEach(r -> statuses.merge(Integer.toString(r.status()), 1L, Long::sum));
            m.put("statuses", new Json.RawJson(Json.object(statuses).trim().replace("\n", " ")));
            classes.put(e.getKey(), new Json.RawJson(Json.object(m).trim().replace("\n", " ")));
        }
        fairnessJain = jain(standardTokens);
        fairnessJainWhileArriving = jain(whileArriving);
        fairnessJainDispatched = jain(dispatched);
    }

    /** Jain's fairness index over {@code shares}: 1 when equal, 1/n when one got everything; NaN when all are 0. */
    private static double jain(Map<String, Long> shares) {
        double sum = 0;
        double squares = 0;
        for (long x : shares.values()) {
            sum += x;
            squares += (double) x * x;
        }
        return squares == 0 ? Double.NaN : sum * sum / (shares.size() * squares);
    }

    Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("policy", policy);
        m.put("workload", workload);
        m.put("requests", (long) results.size());
        m.put("errors", errors);
        m.put("errors_by_cause", new Json.RawJson(Json.object(errorsByCause()).trim().replace("\n", " ")));
        m.put("shed", shed);
        m.put("warm_up_requests", warmUpServed);
        m.put("primed_requests", primedRequests);
        m.put("ttft_p50_ms", ttftP(50));
        m.put("ttft_p90_ms", ttftP(90));
        m.put("ttft_p99_ms", ttftP(99));
        m.put("greedy_reference_ttft_p90_ms", greedyP90);
        m.put("lower_bound_ttft_p50_ms", boundP50);
        m.put("lower_bound_ttft_p90_ms", boundP90);
        m.put("lower_bound_ttft_p99_ms", boundP99);
        m.put("ttft_p90_over_greedy_reference", ttftP(90) / greedyP90);
        m.put("ttft_p90_over_lower_bound", ttftP(90) / boundP90);
        m.put("ttft_routing_at_real_time_p50_ms", percentile(ttftsModel, 50));
        m.put("ttft_routing_at_real_time_p90_ms", percentile(ttftsModel, 90));
        m.put("ttft_routing_at_real_time_p99_ms", percentile(ttftsModel, 99));
        m.put("routing_real_p50_ms", percentile(routing, 50));
        m.put("routing_real_p99_ms", percentile(routing, 99));
        if (harness != null) {
            harness.putInto(m);
        }
        if (leftovers != null) {
            leftovers.putInto(m);
        }
        if (pdOutcomes != null) {
            m.put("pd_requests_by_outcome", new Json.RawJson(Json.object(new java.util.TreeMap<>(pdOutcomes)).trim()
                    .replace("\n", " ")));
        }
        m.put("itl_mean_ms", Arrays.stream(itls).average().orElse(Double.NaN));
        m.put("itl_p90_ms", percentile(itls, 90));
        m.put("throughput_tokens_per_s", throughput);
        m.put("prefix_cache_hit_rate", prefixHitRate);
        m.put("pod_spread_max_over_min", spread());
        StringBuilder podsJson = new StringBuilder("{");
        for (int i = 0; i < pods.size(); i++) {
            podsJson.append(i > 0 ? ", " : "").append(Json.quote(pods.get(i).pod())).append(": ").append(pods.get(i).requests());
        }
        m.put("requests_per_pod", new Json.RawJson(podsJson.append('}').toString()));
        if (classes != null) {
            m.put("classes", new Json.RawJson(Json.object(classes).trim().replace("\n", "\n  ")));
            m.put("fairness_jain", fairnessJain);
            m.put("fairness_jain_while_arriving", fairnessJainWhileArriving);
            m.put("fairness_jain_dispatched", fairnessJainDispatched);
            m.put("output_tokens_by_tenant", new Json.RawJson(Json.object(tenantTokens).trim()
                    .replace("\n", " ")));
        }
        m.put("note", note);
        return m;
    }

    /** Failed requests by {@link Result#error()}. */
    Map<String, Long> errorsByCause() {
        Map<String, Long> out = new java.util.TreeMap<>();
        results.stream().filter(r -> !r.ok()).forEach(r -> out.merge(r.error(), 1L, Long::sum));
        return out;
    }

    /** One line per failed request: its index, status, cause, pod and message. */
    List<String> failures() {
        return results.stream().filter(r -> !r.ok()).map(r -> String.format(Locale.ROOT,
                "request %d (sent at %.0f ms): %d %s%s%s", r.index(), r.sentMs(), r.status(), r.error(),
                r.pod().isEmpty() ? "" : " from " + r.pod(), r.detail().isEmpty() ? "" : ": " + r.detail())).toList();
    }

    String oneLine() {
        return String.format(Locale.ROOT, "%-13s TTFT p50 %8.0f ms  p90 %8.0f ms  p99 %8.0f ms  %8.0f tok/s  hit %5.1f%%  errors %d  spread %.2f",
                policy, ttftP(50), ttftP(90), ttftP(99), throughput, prefixHitRate * 100, errors, spread());
    }

    /** {@code text} as one CSV field: quoted when it holds a comma, a quote or a line break. */
    static String csvField(String text) {
        if (text.indexOf(',') < 0 && text.indexOf('"') < 0 && text.indexOf('\n') < 0 && text.indexOf('\r') < 0) {
            return text;
        }
        return '"' + text.replace("\"", "\"\"") + '"';
    }

    /** Writes requests.csv, pods.csv, summary.json, summary.csv and ttft-cdf.svg into {@code dir}. */
    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("index,sent_ms,status,pod,ttft_ms,e2e_ms,output_tokens,prompt_tokens,cached_tokens,"
                + "ttft_routing_at_real_time_ms,routing_real_ms,error,detail\n");
        for (Result r : results) {
            csv.append(String.format(Locale.ROOT, "%d,%.1f,%d,%s,%.1f,%.1f,%d,%d,%d,%.1f,%.3f,%s,%s%n", r.index(),
                    r.sentMs(), r.status(), r.pod(), r.ttftMs(), r.e2eMs(), r.outputTokens(), r.promptTokens(),
                    r.cachedTokens(), r.ttftModelMs(), r.routingRealMs(), r.error(), csvField(r.detail())));
        }
        Files.writeString(dir.resolve("requests.csv"), csv, StandardCharsets.UTF_8);
        StringBuilder podCsv = new StringBuilder("pod,requests,prefix_cache_hit_rate,prompt_tokens\n");
        for (PodLine p : pods) {
            podCsv.append(String.format(Locale.ROOT, "%s,%d,%.4f,%d%n", p.pod(), p.requests(), p.prefixHitRate(), p.promptTokens()));
        }
        Files.writeString(dir.resolve("pods.csv"), podCsv, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("summary.json"), Json.object(summary()), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("summary.csv"), summaryCsv(List.of(this)), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("ttft-cdf.svg"), Svg.ttftCdf(List.of(this), workload), StandardCharsets.UTF_8);
    }

    static String summaryCsv(List<Report> reports) {
        StringBuilder sb = new StringBuilder("policy,requests,errors,shed,ttft_p50_ms,ttft_p90_ms,ttft_p99_ms,itl_mean_ms,"
                + "throughput_tokens_per_s,prefix_cache_hit_rate,pod_spread_max_over_min\n");
        for (Report r : reports) {
            sb.append(String.format(Locale.ROOT, "%s,%d,%d,%d,%.1f,%.1f,%.1f,%.2f,%.1f,%.4f,%.2f%n", r.policy, r.results.size(),
                    r.errors, r.shed, r.ttftP(50), r.ttftP(90), r.ttftP(99),
                    Arrays.stream(r.itls).average().orElse(Double.NaN), r.throughput, r.prefixHitRate, r.spread()));
        }
        return sb.toString();
    }

    /** With several policies: comparison.csv, comparison.md and one TTFT CDF chart with every policy. */
    static void writeComparison(Path dir, List<Report> reports, String workload, Replay.Settings s) throws IOException {
        if (reports.size() < 2) {
            return;
        }
        Files.writeString(dir.resolve("comparison.csv"), summaryCsv(reports), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("ttft-cdf.svg"), Svg.ttftCdf(reports, workload), StandardCharsets.UTF_8);
        StringBuilder md = new StringBuilder();
        Report first = reports.get(0);
        md.append(String.format(Locale.ROOT, "Greedy reference TTFT p90 %.0f ms, lower bound %.0f ms (the same fleet and"
                + " workload in simulated time).%n%n", first.greedyP90, first.boundP90));
        md.append("| policy | TTFT p50 (ms) | TTFT p90 (ms) | p90 / greedy | p90 / bound | TTFT p99 (ms) | TTFT p90, routing at real time (ms) | routing p50 / p99 (real ms) | ITL mean (ms) | output tok/s | prefix hit rate | errors | shed | pod spread (max/min) |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Report r : reports) {
            md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.1f / %.1f | %.1f | %.0f | %.1f%% | %d | %d | %.2f |%n", r.policy,
                    r.ttftP(50), r.ttftP(90), r.ttftP(90) / r.greedyP90, r.ttftP(90) / r.boundP90, r.ttftP(99),
                    percentile(r.ttftsModel, 90), percentile(r.routing, 50),
                    percentile(r.routing, 99), Arrays.stream(r.itls).average().orElse(Double.NaN),
                    r.throughput, r.prefixHitRate * 100, r.errors, r.shed, r.spread()));
        }
        Files.writeString(dir.resolve("comparison.md"), md, StandardCharsets.UTF_8);
    }
}
