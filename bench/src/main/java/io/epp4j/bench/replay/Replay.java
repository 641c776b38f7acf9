package io.epp4j.bench.replay;

import io.epp4j.bench.cli.JitActivity;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.sim.EngineModel;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.References;
import io.epp4j.bench.load.Connection;
import io.epp4j.bench.load.LoadGenerator;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.EngineCore;
import io.epp4j.bench.sim.KvEventsConfig;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.bench.stack.ForkedEpp;
import io.epp4j.bench.stack.LocalEpp;
import io.epp4j.gatewaykit.Dialect;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replays a workload through gateway → (EPP) → simulated pods under one or more routing policies, on the
 * same simulated fleet configuration and the same request sequence, and writes the reports.
 *
 * <p>Time is compressed by {@code speedup}: arrivals come {@code speedup} times faster and the simulators run
 * {@code speedup} times faster. Reported latencies are in simulated time (measured × speedup), so the
 * gateway's and the EPP's own real-time overhead is inflated by the same factor.
 */
public final class Replay {

    /** A generated trace's {@code load=F} parameter (F times the fleet's capacity). */
    private static final Pattern LOAD = Pattern.compile("[:,]load=([0-9.]+)(?=,|$)");

    /** Policies the gateway applies itself (no EPP). */
    static final Set<String> GATEWAY_POLICIES = Set.of("round-robin", "random");
    /** The P/D policy: {@code bench/configs/pd.yaml} on pods with roles. */
    static final String PD = "pd";
    public static final List<String> ALL_POLICIES = List.of("round-robin", "random", "least-queue", "gaie-default",
            "epp4j", "flow-control", "flow-control-concurrency", "precise", "precise-no-fallback", "precise-backlog",
            "precise-llm-d-sample", "pd");
    /**
     * The simulated pods' KV-event sockets when a run publishes them: the pod's HTTP port + 1000 (PUB) and + 2000
     * (replay ROUTER), the {@code socketPortOffset} / {@code replaySocketPortOffset} of {@code bench/configs/precise*.yaml}.
     */
    static final int KV_EVENTS_PORT_OFFSET = 1000;
    static final int KV_REPLAY_PORT_OFFSET = 2000;

    /**
     * Replay settings shared by every policy of one run.
     *
     * @param refreshMetricsInterval the EPPs' {@code --refresh-metrics-interval} in real time (GAIE's 50ms by
     *     default; each real millisecond of metric age is {@code speedup} simulated ones)
     * @param eppInProcess run each EPP in this JVM instead of a JVM of its own ({@code --epp-in-process})
     * @param eppReplicas EPP replicas of the policy's config, the gateway's streams going to each in turn
     *     ({@code --epp-replicas})
     * @param kvEvents the pods publish vLLM's KV-cache events (runs with a precise policy or dropped events)
     * @param dropKvEvents the fraction of pods whose events stop a third of the way into the measured run
     *     ({@code --drop-kv-events})
     * @param prefillPods with {@code --prefill-pods P --decode-pods D}: the fleet's first P pods are labelled
     *     {@code llm-d.ai/role=prefill} and the rest {@code decode} under policy {@code pd}; other policies use the
     *     same P + D pods aggregated (0: no P/D)
     */
    public record Settings(int pods, double speedup, long seed, SimConfig sim, Path configDir, boolean tls,
                           int maxInFlight, int warmUpRequests, String refreshMetricsInterval, boolean eppInProcess,
                           int eppReplicas, boolean kvEvents, double dropKvEvents, int prefillPods) {

        /** Aggregated pods only. */
        public Settings(int pods, double speedup, long seed, SimConfig sim, Path configDir, boolean tls,
                        int maxInFlight, int warmUpRequests, String refreshMetricsInterval, boolean eppInProcess,
                        int eppReplicas, boolean kvEvents, double dropKvEvents) {
            this(pods, speedup, seed, sim, configDir, tls, maxInFlight, warmUpRequests, refreshMetricsInterval,
                    eppInProcess, eppReplicas, kvEvents, dropKvEvents, 0);
        }

        /** One EPP per policy, no KV events. */
        public Settings(int pods, double speedup, long seed, SimConfig sim, Path configDir, boolean tls,
                        int maxInFlight, int warmUpRequests, String refreshMetricsInterval, boolean eppInProcess) {
            this(pods, speedup, seed, sim, configDir, tls, maxInFlight, warmUpRequests, refreshMetricsInterval,
                    eppInProcess, 1, false, 0);
        }

        /** Pods dropping their events, the first {@code round(fraction * pods)} of them. */
        int podsDroppingEvents() {
            return (int) Math.round(dropKvEvents * pods);
        }
    }

    /**
     * Warm-up requests per policy by default. The JIT compiles the EPP's and the gateway's ext_proc path only
     * after tens of thousands of messages; with 64 short warm-up requests the first EPP policy of a run was
     * measured on cold code (routing at 120-400 real ms instead of 2-10 for its first ~500 requests, whichever
     * policy came first), which made the policy order decide the comparison.
     */
    static final int DEFAULT_WARM_UP_REQUESTS = 1000;

    /** Output tokens per warm-up request: each token is one response chunk through the gateway and the EPP. */
    static final int WARM_UP_OUTPUT_TOKENS = 64;
    /** Warm-up prompt length when the workload has none to copy (512 tokens). */
    private static final int DEFAULT_WARM_UP_PROMPT_CHARS = 4 * 512;
    /** Longest warm-up prompt (128k tokens): longer workload prompts are warmed up with this length. */
    private static final int MAX_WARM_UP_PROMPT_CHARS = 4 * 131_072;
    /** Tokens at the end of each warm-up prompt that are its own (so each is a distinct request). */
    private static final int OWN_TAIL_TOKENS = 16;
    /** Longest full-speed warm-up of a measured EPP in its own process (see warmUpOwnProcess). */
    static final double EPP_WARM_UP_SECONDS = 10;
    /**
     * Responses streaming through the measured EPP during its own warm-up (50 × 100 SSE events a second, about what a
     * replay at speedup 5 sends): without them the EPP compiled its response path and parts of its request path
     * while it was measured (its C2 thread took 0.4 of a core through the whole measured phase).
     */
    static final int WARM_UP_OPEN_STREAMS = 50;
    static final double WARM_UP_CHUNKS_PER_S = 100;
    /**
     * How long the EPP may take, after the last client has its answer, to see every stream end; then whatever it
     * still holds is reported ({@link EppLeftovers}).
     */
    static final java.time.Duration LEFTOVERS_PATIENCE = java.time.Duration.ofSeconds(5);
    /** Extra warm-up rounds (a quarter of the warm-up each) while the JIT is busy. */
    private static final int MAX_EXTRA_WARM_UP_ROUNDS = 4;

    private Replay() {
    }

    /**
     * The policies' config files: the nearest {@code bench/configs} at or above {@code start}, so that the replay
     * (and the tests, which run in a module's directory) find them from anywhere in a checkout; else
     * {@code bench/configs} relative to {@code start}, which then fails with the missing file's name.
     */
    public static Path defaultConfigs(Path start) {
        for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("bench/configs"))) {
                return p.resolve("bench/configs");
            }
        }
        return start.resolve("bench/configs");
    }

    /** Finds a fleet's capacity in requests per second for the workload {@code maker} makes (n requests). */
    public interface CapacityFinder {
        double rate(WorkloadMaker maker, int n, SimConfig sim, int pods) throws IOException;
    }

    /** Makes a workload of {@code n} requests at its own rate. */
    public interface WorkloadMaker {
        Workloads.Workload make(int n) throws IOException;
    }

    /** {@code replay ...} without {@code load} parameters (no capacity finder). */
    public static int run(String[] args, PrintStream out) throws Exception {
        return run(args, out, null);
    }

    /**
     * {@code replay [--trace T] --policy P[,P...] --out DIR [...]}; T defaults to the repository's Mooncake trace. A
     * generated trace's {@code load=F} sets its {@code rate} to F times the fleet's capacity for it, as
     * {@code capacity} finds it.
     */
    public static int run(String[] args, PrintStream out, CapacityFinder capacity) throws Exception {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("trace", "policy", "pods", "speedup", "limit", "out", "seed",
                "configs", "model", "max-in-flight", "warm-up", "prime-requests", "scrape-interval", "epp-replicas",
                "drop-kv-events", "prefill-pods", "decode-pods")), Set.of("tls", "epp-in-process"));
        String trace = f.string("trace", Workloads.defaultTrace(Path.of("")).toString());
        List<String> policies = List.of(f.required("policy").split(","));
        for (String p : policies) {
            if (!ALL_POLICIES.contains(p)) {
                throw new Flags.UsageException("unknown policy " + p + " (" + String.join(", ", ALL_POLICIES) + ")");
            }
        }
        Path outDir = Path.of(f.required("out"));
        long seed = f.longValue("seed", 42);
        int limit = f.integer("limit", 2000);
        // At 20x each real millisecond of the gateway and the EPP counted 20 simulated ones and the Mooncake
        // trace came out 12-21% above the oracle; at 5x, 2-5% (bench/results/routing.md)
        double speedup = f.decimal("speedup", 5);
        if (!(speedup > 0)) {
            throw new Flags.UsageException("--speedup must be > 0 (below 1 runs slower than real time)");
        }
        String model = f.string("model", "Qwen/Qwen3-8B");
        Matcher load = LOAD.matcher(trace);
        String spec = load.find() ? load.replaceFirst("") : trace;
        Workloads.Workload workload = Workloads.load(spec, limit, seed, model);
        SimConfig sim = fleetConfig(f, workload, model).withTimeScale(speedup).withSeed(seed).withJitter(0.1);
        if (load.find(0)) {
            if (capacity == null || !trace.startsWith("gen:")) {
                throw new Flags.UsageException("load= is for generated workloads");
            }
            double fraction = Double.parseDouble(load.group(1));
            String generated = spec;
            double fleetRate = capacity.rate(n -> Workloads.load(generated, n, seed, model), 300,
                    sim.withTimeScale(1), f.integer("pods", 4));
            spec = spec + (spec.indexOf(':', 4) < 0 ? ":" : ",") + "rate=" + fraction * fleetRate;
            out.printf(Locale.ROOT, "load %.2f: %.2f requests/s (the greedy reference's capacity %.2f requests/s)%n",
                    fraction, fraction * fleetRate, fleetRate);
            workload = Workloads.load(spec, limit, seed, model);
        }
        int replicas = f.integer("epp-replicas", 1);
        double drop = f.decimal("drop-kv-events", 0);
        if (replicas < 1) {
            throw new Flags.UsageException("--epp-replicas must be >= 1");
        }
        if (drop < 0 || drop > 1) {
            throw new Flags.UsageException("--drop-kv-events must be a fraction in [0, 1]");
        }
        int prefillPods = 0;
        int pods = f.integer("pods", 4);
        if (f.has("prefill-pods") || f.has("decode-pods")) {
            prefillPods = f.integer("prefill-pods", 0);
            int decodePods = f.integer("decode-pods", 0);
            if (prefillPods < 1 || decodePods < 1 || f.has("pods")) {
                throw new Flags.UsageException("--prefill-pods and --decode-pods go together (each >= 1) and"
                        + " replace --pods");
            }
            pods = prefillPods + decodePods;
        } else if (policies.contains(PD)) {
            throw new Flags.UsageException("policy pd needs --prefill-pods and --decode-pods");
        }
        Settings settings = new Settings(pods, speedup, seed, sim,
                f.has("configs") ? Path.of(f.string("configs", "")) : defaultConfigs(Path.of("")), f.bool("tls"),
                f.integer("max-in-flight", 2000),
                f.integer("warm-up", DEFAULT_WARM_UP_REQUESTS), f.positiveDuration("scrape-interval", "50ms"),
                f.bool("epp-in-process"), replicas, drop > 0 || policies.stream().anyMatch(p -> p.startsWith("precise")),
                drop, prefillPods);
        int primeRequests = f.integer("prime-requests", workload.requests().size());
        if (primeRequests < 0) {
            throw new Flags.UsageException("--prime-requests must be >= 0");
        }
        Files.createDirectories(outDir);
        out.printf("replay %s: %d requests, %d pods (%d KV blocks each), speedup %sx, policies %s%s%s%n",
                workload.name(), workload.requests().size(), settings.pods(), sim.kvBlocks(),
                java.math.BigDecimal.valueOf(speedup).stripTrailingZeros().toPlainString(), policies,
                replicas > 1 ? ", " + replicas + " EPP replicas each" : "",
                drop > 0 ? ", KV events of " + settings.podsDroppingEvents() + " pods stop a third of the way in" : "");
        References refs = References.of(arrivals(workload), FleetSimulation.uniform(sim, settings.pods()), null);
        out.printf(Locale.ROOT, "greedy reference  TTFT p90 %.0f ms; lower bound  TTFT p90 %.0f ms%n", refs.greedyP(90),
                refs.boundP(90));
        long primed = prime(workload, policies, primeRequests, settings, out);
        List<Report> reports = new ArrayList<>();
        for (String policy : policies) {
            System.gc(); // each policy starts on a heap without the previous one's garbage
            Report r = runPolicy(workload, policy, settings, out, primed);
            r.setReferences(refs);
            Path dir = policies.size() == 1 ? outDir : outDir.resolve(policy);
            r.write(dir);
            reports.add(r);
            out.println(r.oneLine());
            r.failures().forEach(line -> out.println("  " + line));
            if (r.harness() != null && r.harness().saturated()) {
                out.printf(Locale.ROOT, "  the harness ran out of CPU (machine %.0f%% busy, probe p99 %.1f ms late):"
                        + " not a measurement of the EPP%n", 100 * r.harness().machineBusy(),
                        r.harness().probeDelayP99Ms());
            }
        }
        Report.writeComparison(outDir, reports, workload.name(), settings);
        out.println("reports in " + outDir.toAbsolutePath());
        return 0;
    }

    /**
     * The simulated pods' configuration from the flags {@code replay} and {@code oracle} share: the step engine
     * model by default; with {@code --engine-model lanes}, 16 running slots, 32,768 KV blocks, 30 ms + 0.05 ms per
     * token prefill and 12 ms inter-token latency unless the flags say otherwise.
     */
    public static SimConfig fleetConfig(Flags f, Workloads.Workload workload, String model) {
        return SimFlags.config(f, model, lanesDefaults(workload, model));
    }

    /** The lanes model's fleet for {@code workload} when no flag changes it. */
    public static SimConfig lanesDefaults(Workloads.Workload workload, String model) {
        return SimConfig.defaults(model)
                .withLoras(workload.loras(), 2)
                .withCapacity(16, 1000, 32768)
                .withLatency(30, 0.05, 12, 2.0);
    }

    /**
     * {@code oracle [--trace T] [--pods N] [--limit N] [--seed S] [fleet flags]}: the greedy reference and the lower
     * bound ({@link References}) on the fleet {@code replay} would simulate for the same flags, computed in
     * simulated time; nothing is replayed. T defaults to the repository's Mooncake trace.
     */
    public static int oracle(String[] args, PrintStream out) throws IOException {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("trace", "pods", "limit", "seed", "model")), Set.of());
        String model = f.string("model", "Qwen/Qwen3-8B");
        long seed = f.longValue("seed", 42);
        Workloads.Workload workload = Workloads.load(f.string("trace", Workloads.defaultTrace(Path.of("")).toString()), f.integer("limit", 2000), seed, model);
        int pods = f.integer("pods", 4);
        if (pods < 1) {
            throw new Flags.UsageException("--pods must be >= 1");
        }
        SimConfig sim = fleetConfig(f, workload, model).withSeed(seed);
        long started = System.nanoTime();
        References refs = References.of(arrivals(workload), FleetSimulation.uniform(sim, pods), null);
        out.printf(Locale.ROOT, "oracle %s: %d requests, %d pods, engine %s%s (computed in simulated time in %.1f s,"
                        + " not replayed)%n", workload.name(), workload.requests().size(), pods,
                sim.engineModel().flagValue(), sim.engineModel() == EngineModel.STEP ? " " + sim.step().name() : "",
                (System.nanoTime() - started) / 1e9);
        out.printf(Locale.ROOT, "greedy reference  TTFT p50 %8.0f ms  p90 %8.0f ms  p99 %8.0f ms  hit %5.1f%%"
                        + "  rejected %d%n", refs.greedyP(50), refs.greedyP(90), refs.greedyP(99),
                100 * refs.greedyHitRate(), refs.greedyRejected());
        out.printf(Locale.ROOT, "lower bound       TTFT p50 %8.0f ms  p90 %8.0f ms  p99 %8.0f ms%n", refs.boundP(50),
                refs.boundP(90), refs.boundP(99));
        return 0;
    }

    /** The workload as the fleet simulation's arrivals. */
    public static List<FleetSimulation.Arrival> arrivals(Workloads.Workload workload) {
        return workload.requests().stream().map(r -> new FleetSimulation.Arrival(r.arrivalMs(), r.model(),
                r.prompt(), r.outputTokens())).toList();
    }

    /**
     * The priming pass: the workload's first {@code requests} requests, split evenly over the run's EPP policies
     * and measured by nothing, before any policy is measured. A policy's own warm-up (short answers) leaves this JVM
     * compiling and its heap growing through the first policy's measured run, and the next policy benefits: at
     * speedup 20 on the Mooncake trace the first policy routed at 2-3x the real time of the second for the whole
     * run (C2 compiling 1,000 methods per 2 s against 100-300, young GCs of 10-57 ms every second on a 696 MB heap
     * against 12-29 ms every 2-4 s on 1.4 GB), and each routed real millisecond is {@code speedup} simulated ones.
     */
    static long prime(Workloads.Workload workload, List<String> policies, int requests, Settings s,
                      PrintStream log) throws Exception {
        List<String> eppPolicies = policies.stream().filter(p -> !GATEWAY_POLICIES.contains(p)).distinct().toList();
        int share = eppPolicies.isEmpty() ? 0 : Math.min(requests, workload.requests().size()) / eppPolicies.size();
        if (share == 0) {
            return 0;
        }
        log.printf("priming: the first %d requests under %s, not measured%n", share, String.join(", ", eppPolicies));
        Workloads.Workload primer = new Workloads.Workload(workload.name(), workload.requests().subList(0, share),
                workload.baseModel(), workload.loras(), workload.objectives());
        long served = 0;
        for (String policy : eppPolicies) {
            served += runPolicy(primer, policy, s, log, 0).served();
        }
        return served;
    }

    /**
     * Runs the whole workload under {@code policy} on a fresh fleet: first a warm-up through the policy's whole
     * path (with a throwaway EPP of the same config), then, with the pods' prefix caches emptied, the measured
     * workload through a fresh EPP whose prefix index and in-flight counts have seen only measured requests.
     * {@code primedRequests} (the run's priming, before any policy) is recorded in the report.
     */
    public static Report runPolicy(Workloads.Workload workload, String policy, Settings s, PrintStream log,
                                   long primedRequests) throws Exception {
        try (SimFleet fleet = SimFleet.start(s.sim(), "pod", s.pods(), 0, s.kvEvents()
                ? KvEventsConfig.servingPortOffsets(KV_EVENTS_PORT_OFFSET, KV_REPLAY_PORT_OFFSET) : null)) {
            if (policy.equals(PD)) {
                for (int i = 0; i < fleet.servers().size(); i++) {
                    fleet.servers().get(i).setDisaggregation(role(i, s), io.epp4j.bench.sim.KvTransfer.DEFAULT);
                }
            }
            long warmUpServed;
            try (RoutedPath warm = RoutedPath.start(policy, workload, fleet, s)) {
                warmUpServed = warmUp(warm.gateway.port(), warmUpRequests(workload, s), warmUpSettings(s));
            }
            fleet.servers().forEach(srv -> srv.resetPrefixCache());
            try (RoutedPath measured = RoutedPath.start(policy, workload, fleet, s)) {
                for (LocalEpp replica : measured.replicas) {
                    warmUpOwnProcess(replica, workload, s, log);
                }
                List<EngineCore.Snapshot> before = fleet.servers().stream().map(srv -> srv.snapshot()).toList();
                List<Map<String, Long>> pdBefore = fleet.servers().stream().map(srv -> srv.pdOutcomes()).toList();
                HarnessWatch watch = HarnessWatch.start(measured.epp);
                long chunksBefore = measured.gateway.responseChunksToEpp();
                List<Report.Result> results;
                try (DroppedEvents dropped = DroppedEvents.schedule(fleet, workload, s)) {
                    results = drive(measured.gateway.port(), workload.requests(), s);
                }
                HarnessWatch.Verdict harness = watch.stop(measured.epp == null ? 0
                        : measured.gateway.responseChunksToEpp() - chunksBefore);
                Report report = Report.of(policy, workload.name(), results, fleet, before, measured.gateway.shed(),
                        warmUpServed, primedRequests, measured.note);
                report.harness(harness);
                if (policy.equals(PD)) {
                    Map<String, Long> outcomes = new java.util.TreeMap<>();
                    for (int i = 0; i < fleet.servers().size(); i++) {
                        Map<String, Long> was = pdBefore.get(i);
                        fleet.servers().get(i).pdOutcomes().forEach((k, v) ->
                                outcomes.merge(k, v - was.getOrDefault(k, 0L), Long::sum));
                    }
                    report.pdOutcomes(outcomes);
                }
                if (!measured.replicas.isEmpty()) {
                    EppLeftovers left = new EppLeftovers(0, 0, 0, 0);
                    for (LocalEpp replica : measured.replicas) {
                        EppLeftovers l = EppLeftovers.await(replica.metricsPort(), LEFTOVERS_PATIENCE);
                        left = new EppLeftovers(left.queued() + l.queued(), left.running() + l.running(),
                                left.streams() + l.streams(), left.endpointInFlight() + l.endpointInFlight());
                    }
                    report.leftovers(left);
                    if (!left.none()) {
                        log.printf("  the EPP still holds requests after the last answer: %s%n", left);
                    }
                }
                if (!workload.objectives().isEmpty()) {
                    report.classes(workload.requests(), workload.objectives(), s.speedup());
                }
                return report;
            }
        }
    }

    /**
     * {@code --drop-kv-events}: the first {@link Settings#podsDroppingEvents()} pods stop publishing KV events a third
     * of the way into the measured run (by the workload's last arrival), as a pod whose event stream broke; closing
     * this resumes them.
     */
    private static final class DroppedEvents implements AutoCloseable {
        private final java.util.concurrent.ScheduledExecutorService timer;
        private final List<io.epp4j.bench.sim.SimServer> pods;

        private DroppedEvents(java.util.concurrent.ScheduledExecutorService timer,
                              List<io.epp4j.bench.sim.SimServer> pods) {
            this.timer = timer;
            this.pods = pods;
        }

        static DroppedEvents schedule(SimFleet fleet, Workloads.Workload workload, Settings s) {
            List<io.epp4j.bench.sim.SimServer> pods = fleet.servers().subList(0, s.podsDroppingEvents());
            if (pods.isEmpty()) {
                return new DroppedEvents(null, pods);
            }
            long lastArrivalMs = workload.requests().stream().mapToLong(TraceRequest::arrivalMs).max().orElse(0);
            java.util.concurrent.ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "replay-drop-kv-events");
                t.setDaemon(true);
                return t;
            });
            timer.schedule(() -> pods.forEach(p -> p.setFaults(io.epp4j.bench.sim.Faults.parse("kv-stop"))),
                    (long) (lastArrivalMs / 3.0 / s.speedup()), TimeUnit.MILLISECONDS);
            return new DroppedEvents(timer, pods);
        }

        @Override
        public void close() {
            if (timer != null) {
                timer.shutdownNow();
            }
            pods.forEach(p -> p.setFaults(io.epp4j.bench.sim.Faults.NONE));
        }
    }

    /**
     * An EPP in a JVM of its own starts with cold code: the warm-up went through another one, and the JIT's work
     * does not carry over between processes as it does within this JVM (measured: the first ~100 requests of a run
     * routed in 15-115 ms instead of 3-10). So the measured EPP first decides load-generator requests at full speed
     * for a second per 100 warm-up requests ({@link #EPP_WARM_UP_SECONDS} at most, then until this JVM's JIT is
     * quiet), with bodies as long as the workload's on average, while {@link #WARM_UP_OPEN_STREAMS} responses stream
     * through it: 64 made-up prompts that share no text with the workload, which leave the EPP nothing but their few
     * prefix-index entries (evicted first).
     */
    private static void warmUpOwnProcess(LocalEpp epp, Workloads.Workload workload, Settings s, PrintStream log)
            throws Exception {
        double seconds = Math.min(EPP_WARM_UP_SECONDS, s.warmUpRequests() / 100.0);
        if (!(epp instanceof ForkedEpp) || seconds <= 0) {
            return;
        }
        int bodyBytes = (int) Math.min(MAX_WARM_UP_PROMPT_CHARS, workload.requests().stream()
                .mapToInt(r -> r.prompt().length()).average().orElse(DEFAULT_WARM_UP_PROMPT_CHARS)) + 200;
        LoadGenerator.Settings load = new LoadGenerator.Settings(0, true, 8, 0, seconds, bodyBytes,
                Dialect.AGENTGATEWAY, s.seed(), WARM_UP_OPEN_STREAMS, WARM_UP_CHUNKS_PER_S, 1);
        try (Connection c = Connection.open(new LoadGenerator.Target("epp", "127.0.0.1", epp.grpcPort(), s.tls()))) {
            LoadGenerator.WarmUp w = c.warmUp(load);
            log.printf(Locale.ROOT, "  the measured EPP's own process: %s of decisions on %d-byte bodies%n",
                    w.describe().replace("warmed up ", ""), bodyBytes);
        }
    }

    /**
     * A gateway in front of {@code fleet} routing by {@code policy}: by itself, or through its own EPP
     * ({@link Settings#eppReplicas()} replicas of it, each in its own process unless {@code --epp-in-process}).
     */
    private static final class RoutedPath implements AutoCloseable {
        /** The first replica (the one the harness watch measures), null without an EPP. */
        final LocalEpp epp;
        final List<LocalEpp> replicas;
        final GatewaySim gateway;
        final String note;

        private RoutedPath(List<LocalEpp> replicas, GatewaySim gateway, String note) {
            this.replicas = replicas;
            this.epp = replicas.isEmpty() ? null : replicas.get(0);
            this.gateway = gateway;
            this.note = note;
        }

        static RoutedPath start(String policy, Workloads.Workload workload, SimFleet fleet, Settings s)
                throws Exception {
            List<LocalEpp> replicas = new ArrayList<>();
            Pool.Routing routing;
            String note = "";
            GatewaySim gateway = null;
            try {
                if (GATEWAY_POLICIES.contains(policy)) {
                    routing = new Pool.Balanced(policy.equals("round-robin") ? Pool.Policy.ROUND_ROBIN
                            : Pool.Policy.RANDOM, s.seed());
                } else {
                    Path config = s.configDir().resolve(policy + ".yaml");
                    if (!Files.isRegularFile(config)) {
                        throw new IllegalArgumentException("no EPP config for policy " + policy + " at "
                                + config.toAbsolutePath());
                    }
                    String configFile = forFleet(config, workload.baseModel(), fleet.addresses().get(0)).toString();
                    List<String> flags = new ArrayList<>(List.of("--refresh-metrics-interval",
                            s.refreshMetricsInterval()));
                    if (!workload.objectives().isEmpty()) {
                        // the priorities the workload's requests name, as a static-mode user declares them
                        Path objectives = Files.createTempFile("objectives", ".yaml");
                        objectives.toFile().deleteOnExit();
                        Files.writeString(objectives, workload.objectives());
                        flags.addAll(List.of("--inference-objectives-file", objectives.toString()));
                    }
                    for (int i = 0; i < s.eppReplicas(); i++) {
                        if (policy.equals(PD)) {
                            // pod labels exist only in the harness's JVM (static endpoints carry none)
                            Map<String, String> roles = new LinkedHashMap<>();
                            for (int k = 0; k < fleet.addresses().size(); k++) {
                                roles.put(fleet.addresses().get(k), role(k, s));
                            }
                            replicas.add(io.epp4j.bench.stack.EmbeddedEpp.startWithRoles(roles, s.tls(), configFile,
                                    flags.toArray(new String[0])));
                        } else {
                            replicas.add(LocalEpp.start(!s.eppInProcess(), fleet.addresses(), s.tls(), configFile,
                                    flags.toArray(new String[0])));
                        }
                    }
                    routing = new Pool.ViaEpp("127.0.0.1", replicas.stream().map(LocalEpp::grpcPort).toList(),
                            s.tls(), Dialect.AGENTGATEWAY);
                    note = "EPP config " + config + (s.eppReplicas() > 1 ? ", " + s.eppReplicas() + " replicas" : "")
                            + (s.eppInProcess() || policy.equals(PD) ? ", EPP in the harness's JVM"
                            : ", EPP in its own JVM")
                            + (policy.equals(PD) ? ", " + s.prefillPods() + " prefill + " + (s.pods() - s.prefillPods())
                            + " decode pods" : "");
                }
                Map<String, String> bbr = new LinkedHashMap<>();
                bbr.put(workload.baseModel(), workload.baseModel());
                workload.loras().forEach(l -> bbr.put(l, workload.baseModel()));
                gateway = GatewaySim.start(0, bbr,
                        List.of(new Pool("pool", workload.baseModel(), fleet.addresses(), routing)));
                if (!replicas.isEmpty()) {
                    awaitEppReady(gateway.port(), workload);
                }
                return new RoutedPath(replicas, gateway, note);
            } catch (Exception | Error e) {
                if (gateway != null) {
                    gateway.close();
                }
                for (LocalEpp r : replicas) {
                    r.close();
                }
                throw e;
            }
        }

        @Override
        public void close() throws Exception {
            gateway.close();
            for (LocalEpp r : replicas) {
                r.close();
            }
        }
    }

    /**
     * The policy's config for a fleet: a config whose {@code token-producer} names the sample model server
     * ({@code http://127.0.0.1:8000}, model {@code sim-model}) gets {@code renderAddress} ({@code ip:port} of a pod) as
     * its render endpoint and {@code baseModel} (the topic's model, which the precise index keys on), in a temporary
     * copy; others are used as they are.
     */
    public static Path forFleet(Path config, String baseModel, String renderAddress) throws IOException {
        String yaml = Files.readString(config);
        if (!yaml.contains("token-producer")) {
            return config;
        }
        String rewritten = yaml.replace("http://127.0.0.1:8000", "http://" + renderAddress)
                .replace("modelName: sim-model", "modelName: " + baseModel);
        Path copy = Files.createTempFile("epp4j-" + config.getFileName().toString().replace(".yaml", "") + "-",
                ".yaml");
        copy.toFile().deleteOnExit();
        Files.writeString(copy, rewritten);
        return copy;
    }

    /**
     * Drives the warm-up requests, then repeats their first quarter (at most {@link #MAX_EXTRA_WARM_UP_ROUNDS}
     * times) while the JIT compiler is still busy: the first EPP policy of a run must not be measured on code C2
     * has not finished. Returns how many warm-up requests were served.
     */
    private static long warmUp(int gatewayPort, List<TraceRequest> warm, Settings s) throws Exception {
        long served = 0;
        List<TraceRequest> round = warm;
        for (int extra = 0; ; extra++) {
            JitActivity.Window window = JitActivity.window();
            served += drive(gatewayPort, round, s).stream().filter(Report.Result::ok).count();
            if (extra == MAX_EXTRA_WARM_UP_ROUNDS || window.quiet() || warm.size() < 4) {
                return served;
            }
            round = warm.subList(0, warm.size() / 4);
        }
    }

    /**
     * The warm-up: {@code warmUpRequests} streamed requests in the workload's models and with its prompt lengths
     * (the JIT compiles the loops over a prompt for the lengths it sees), all due at once; {@link #warmUpSettings}
     * keeps the fleet full without a long queue. Each prompt is a common text cut to the length of a workload
     * prompt, plus a short text of its own at the end: the pods prefill the common part once and then serve it
     * from cache, so a long-prompt workload warms up in seconds, while the gateway and the EPP still read and
     * hash every byte. No warm-up block is in any workload prompt, so nothing of them is reused once the caches
     * are emptied.
     */
    static List<TraceRequest> warmUpRequests(Workloads.Workload w, Settings s) {
        List<TraceRequest> workload = w.requests();
        int longest = workload.stream().mapToInt(r -> r.prompt().length()).max().orElse(0);
        int commonChars = Math.min(Math.max(longest, DEFAULT_WARM_UP_PROMPT_CHARS), MAX_WARM_UP_PROMPT_CHARS);
        StringBuilder common = new StringBuilder(commonChars + 4 * 512);
        for (long block = 0; common.length() < commonChars; block++) {
            Workloads.appendBlock(common, s.seed() + 99, 9_000_000L + block, 512);
        }
        List<TraceRequest> warm = new ArrayList<>();
        for (int i = 0; i < s.warmUpRequests(); i++) {
            TraceRequest like = workload.isEmpty() ? null : workload.get(i % workload.size());
            int chars = like == null ? DEFAULT_WARM_UP_PROMPT_CHARS : Math.min(like.prompt().length(), commonChars);
            StringBuilder prompt = new StringBuilder(chars + 4 * OWN_TAIL_TOKENS + 1);
            prompt.append(common, 0, Math.max(0, chars - 4 * OWN_TAIL_TOKENS));
            Workloads.appendBlock(prompt, s.seed() + 99, 9_500_000L + i, OWN_TAIL_TOKENS);
            warm.add(new TraceRequest(0, like == null ? w.baseModel() : like.model(), prompt.toString(),
                    WARM_UP_OUTPUT_TOKENS));
        }
        return warm;
    }

    /** Pod {@code i}'s {@code llm-d.ai/role} under policy {@code pd}. */
    static String role(int i, Settings s) {
        return i < s.prefillPods() ? "prefill" : "decode";
    }

    /** As many warm-up requests in flight as the fleet runs at once. */
    static Settings warmUpSettings(Settings s) {
        int fleetSlots = Math.max(1, s.pods() * s.sim().maxNumSeqs());
        return new Settings(s.pods(), s.speedup(), s.seed(), s.sim(), s.configDir(), s.tls(),
                Math.min(s.maxInFlight(), fleetSlots), s.warmUpRequests(), s.refreshMetricsInterval(),
                s.eppInProcess(), s.eppReplicas(), s.kvEvents(), s.dropKvEvents(), s.prefillPods());
    }

    /** Polls until the EPP routes a probe request (it has scraped its endpoints at least once). */
    private static void awaitEppReady(int gatewayPort, Workloads.Workload w) throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String body = "{\"model\":" + Json.quote(w.baseModel()) + ",\"prompt\":\"probe\",\"max_tokens\":1}";
        int ok = 0;
        while (System.nanoTime() < deadline && ok < 3) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            ok = r.statusCode() == 200 ? ok + 1 : 0;
            Thread.sleep(100);
        }
        if (ok < 3) {
            throw new IllegalStateException("the EPP did not route requests within 20 s");
        }
        Thread.sleep(200);
    }

    /** Sends every request at its (compressed) arrival time and records what the client saw. */
    static List<Report.Result> drive(int gatewayPort, List<TraceRequest> requests, Settings s) throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "replay-client");
            t.setDaemon(true);
            return t;
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).executor(pool).build();
        Report.Result[] results = new Report.Result[requests.size()];
        CountDownLatch done = new CountDownLatch(requests.size());
        java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(s.maxInFlight());
        long start = System.nanoTime();
        URI uri = URI.create("http://127.0.0.1:" + gatewayPort + "/v1/completions");
        try {
            for (int i = 0; i < requests.size(); i++) {
                TraceRequest tr = requests.get(i);
                long due = start + (long) (tr.arrivalMs() * 1_000_000 / s.speedup());
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                inFlight.acquire();
                int idx = i;
                pool.execute(() -> {
                    try {
                        results[idx] = one(client, uri, tr, idx, start, s.speedup());
                    } finally {
                        inFlight.release();
                        done.countDown();
                    }
                });
            }
            if (!done.await(30, TimeUnit.MINUTES)) {
                throw new IllegalStateException("replay did not finish in 30 minutes");
            }
        } finally {
            pool.shutdownNow();
        }
        return List.of(results);
    }

    private static Report.Result one(HttpClient client, URI uri, TraceRequest tr, int idx, long start, double speedup) {
        String body = "{\"model\":" + Json.quote(tr.model()) + ",\"prompt\":" + Json.quote(tr.prompt())
                + ",\"max_tokens\":" + tr.outputTokens() + ",\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
        long sent = System.nanoTime();
        double sentMs = (sent - start) / 1e6 * speedup;
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).header("content-type", "application/json");
            tr.headers().forEach(request::header);
            HttpResponse<java.io.InputStream> resp = client.send(request
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            String pod = resp.headers().firstValue("x-inference-pod").orElse("");
            double routingMs = resp.headers().firstValue(GatewaySim.ROUTING_TIME_HEADER)
                    .map(v -> Long.parseLong(v) / 1000.0).orElse(0.0);
            if (resp.statusCode() != 200) {
                String answer;
                try (java.io.InputStream in = resp.body()) {
                    answer = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
                }
                String cause = resp.headers().firstValue(GatewaySim.CAUSE_HEADER)
                        .orElse(pod.isEmpty() ? "unknown" : Report.Result.POD);
                return Report.Result.failed(idx, sentMs, resp.statusCode(), pod, cause, errorMessage(answer));
            }
            long first = 0;
            int outputTokens = 0;
            int cachedTokens = 0;
            int promptTokens = 0;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                        continue;
                    }
                    if (first == 0 && line.contains("\"text\":\"") && !line.contains("\"text\":\"\"")) {
                        first = System.nanoTime();
                    }
                    int u = line.indexOf("\"usage\":{");
                    if (u >= 0) {
                        outputTokens = intAfter(line, "\"completion_tokens\":");
                        promptTokens = intAfter(line, "\"prompt_tokens\":");
                        cachedTokens = intAfter(line, "\"cached_tokens\":");
                    }
                }
            }
            long end = System.nanoTime();
            if (first == 0) {
                return Report.Result.failed(idx, sentMs, 502, pod, Report.Result.NO_TOKEN,
                        "the stream ended without a token");
            }
            return new Report.Result(idx, sentMs, 200, pod, (first - sent) / 1e6 * speedup, (end - sent) / 1e6 * speedup,
                    (end - start) / 1e6 * speedup, outputTokens, promptTokens, cachedTokens,
                    (first - sent) / 1e6 * speedup - routingMs * (speedup - 1), routingMs, "", "");
        } catch (IOException | InterruptedException e) {
            return Report.Result.failed(idx, sentMs, 0, "", Report.Result.CLIENT, e.toString());
        }
    }

    /** The message of an OpenAI-style error answer, else the answer itself (on one line). */
    static String errorMessage(String answer) {
        try {
            if (Json.parseObject(answer).get("error") instanceof Map<?, ?> error
                    && error.get("message") instanceof String message) {
                return message;
            }
        } catch (RuntimeException notJson) {
            // an answer that is not JSON is reported as it is
        }
        return answer.replaceAll("\\s+", " ").trim();
    }

    private static int intAfter(String s, String key) {
        int i = s.indexOf(key);
        if (i < 0) {
            return 0;
        }
        i += key.length();
        int j = i;
        while (j < s.length() && Character.isDigit(s.charAt(j))) {
            j++;
        }
        return j > i ? Integer.parseInt(s.substring(i, j)) : 0;
    }
}
