package io.epp4j.bench.scoreboard;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.replay.Workloads;
import io.epp4j.bench.sim.EngineCore;
import io.epp4j.bench.sim.EngineModel;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.References;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.bench.sim.StepBlindReference;
import io.epp4j.epp.EppOptions;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code scoreboard --out DIR [...]}: every workload of the family × load × routing policy × seed, on the fleet
 * simulation (simulated time, the EPP's real scheduling in-process), against the greedy reference and the lower
 * bound, and writes {@code scoreboard.csv} (a row per run), {@code scoreboard.md} (a row per workload × load) and
 * {@code scoreboard.svg} (heat maps of TTFT p90 over the greedy reference's and over round-robin's).
 */
public final class Scoreboard {

    static final List<String> DEFAULT_POLICIES = List.of("round-robin", "least-queue", "gaie-default", "epp4j");
    static final String ROUND_ROBIN = "round-robin";
    /** Policies that are the greedy reference without the exact end of each pod's engine step. */
    static final Map<String, EngineCore.StepKnowledge> STEP_BLIND = Map.of(
            "greedy-step-blind", EngineCore.StepKnowledge.NONE,
            "greedy-step-observed", EngineCore.StepKnowledge.LAST_STEP);
    static final List<String> FLEETS = List.of("uniform", "straggler", "mixed");

    /** One row of the board: engine model, fleet, workload, load (× capacity). */
    record Key(String engine, String fleet, String workload, double load) {
    }

    /** One seed of one row: the capacity found, the references at that load and every policy's run. */
    record Trial(Key key, long seed, int requests, double capacity, double greedyP90, double boundP90,
                 double greedySpread, double greedyThroughput, Map<String, Cell> cells) {
    }

    /** The board's settings. */
    record Settings(List<Family.Member> workloads, List<Double> loads, List<String> policies, List<Long> seeds,
                    int requests, int maxRequests, int pods, List<EngineModel> engines, List<String> fleets, Path configs,
                    long scrapeNanos, String focus, String model, Flags simFlags, int eppReplicas,
                    double dropKvEvents) {
    }

    private Scoreboard() {
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("out", "workloads", "loads", "policies", "seeds", "seed",
                "requests", "pods", "engine-models", "fleets", "configs", "scrape-interval", "focus", "threads",
                "model", "curve", "max-requests", "epp-replicas", "drop-kv-events")), Set.of("quick"));
        boolean quick = f.bool("quick");
        Path repo = Replay.defaultConfigs(Path.of("")).getParent().getParent();
        List<Long> seeds = new ArrayList<>();
        long seed = f.longValue("seed", 42);
        for (int i = 0; i < f.integer("seeds", quick ? 1 : 2); i++) {
            seeds.add(seed + i);
        }
        List<EngineModel> engines = new ArrayList<>();
        for (String e : f.string("engine-models", "step").split(",")) {
            engines.add(EngineModel.parse(e));
        }
        List<String> fleets = List.of(f.string("fleets", quick ? "uniform,straggler" : String.join(",", FLEETS))
                .split(","));
        for (String fl : fleets) {
            if (!FLEETS.contains(fl)) {
                throw new Flags.UsageException("unknown fleet " + fl + " (" + String.join(", ", FLEETS) + ")");
            }
        }
        List<String> policies = List.of(f.string("policies", String.join(",", DEFAULT_POLICIES)).split(","));
        Settings s = new Settings(Family.select(repo, f.string("workloads", "")),
                Arrays.stream(f.string("loads", quick ? "0.5,1.0,1.3" : "0.5,0.8,1.0,1.3").split(","))
                        .map(Double::parseDouble).toList(), policies, seeds,
                f.integer("requests", quick ? 150 : 300), f.integer("max-requests", Capacity.MAX_REQUESTS),
                f.integer("pods", 10), engines, fleets,
                f.has("configs") ? Path.of(f.string("configs", "")) : Replay.defaultConfigs(Path.of("")),
                EppOptions.parseDuration(f.positiveDuration("scrape-interval", "50ms")).toNanos(),
                f.string("focus", "epp4j"), f.string("model", "Qwen/Qwen3-8B"), f, f.integer("epp-replicas", 1),
                Double.parseDouble(f.string("drop-kv-events", "0")));
        if (s.eppReplicas() < 1 || s.dropKvEvents() < 0 || s.dropKvEvents() > 1) {
            throw new Flags.UsageException("--epp-replicas must be >= 1 and --drop-kv-events within [0, 1]");
        }
        if (!s.policies().contains(ROUND_ROBIN)) {
            throw new Flags.UsageException("--policies must include round-robin (the board's baseline)");
        }
        if (f.has("curve")) {
            return curves(s, Double.parseDouble(f.string("curve", "2")), out);
        }
        Path outDir = Path.of(f.required("out"));
        Files.createDirectories(outDir);
        int threads = f.integer("threads", Runtime.getRuntime().availableProcessors());
        long started = System.nanoTime();
        out.printf(Locale.ROOT, "scoreboard: %d workloads x %d loads x %d policies x %d seeds, %d requests a run,"
                        + " %d pods, engines %s, fleets %s, %d threads%n", s.workloads().size(), s.loads().size(),
                policies.size(), seeds.size(), s.requests(), s.pods(), engines, fleets, threads);
        List<Trial> trials = runAll(s, threads, out);
        double minutes = (System.nanoTime() - started) / 60e9;
        Report.write(outDir, s, trials, minutes);
        out.printf(Locale.ROOT, "done in %.1f minutes; %s%n", minutes, outDir.resolve("scoreboard.md"));
        return 0;
    }

    private static List<Trial> runAll(Settings s, int threads, PrintStream out) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            List<Future<List<Trial>>> futures = new ArrayList<>();
            for (EngineModel engine : s.engines()) {
                for (String fleet : s.fleets()) {
                    for (Family.Member m : s.workloads()) {
                        for (long seed : s.seeds()) {
                            futures.add(pool.submit(() -> rowsOf(s, engine, fleet, m, seed, out)));
                        }
                    }
                }
            }
            List<Trial> all = new ArrayList<>();
            for (Future<List<Trial>> fu : futures) {
                all.addAll(fu.get());
            }
            return all;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Every load of one workload on one fleet for one seed: capacity first, then each load's runs. */
    private static List<Trial> rowsOf(Settings s, EngineModel engine, String fleet, Family.Member member, long seed,
                                      PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        Setup setup = Setup.of(member, seed, s.model(), s.requests(), s.simFlags(), engine, s.pods(), fleet);
        List<SimConfig> pods = setup.pods();
        double[] slow = setup.slow();
        Capacity.Found found = setup.capacity(s.maxRequests());
        double capacity = found.rate();
        Workloads.Workload w = found.workload();
        List<Trial> trials = new ArrayList<>();
        for (double load : s.loads()) {
            double rate = load * capacity;
            List<FleetSimulation.Arrival> arrivals = Family.atRate(w, rate);
            References refs = References.of(arrivals, pods, slow);
            Cell greedy = Cell.of("greedy", refs.greedy());
            Map<String, Cell> cells = new LinkedHashMap<>();
            for (String policy : s.policies()) {
                cells.put(policy, Cell.of(policy, runPolicy(s, policy, arrivals, pods, slow, seed)));
            }
            trials.add(new Trial(new Key(engine.flagValue(), fleet, member.name(), load), seed,
                    w.requests().size(), capacity,
                    greedy.ttftP90(), refs.boundP(90), greedy.spread(), greedy.throughput(), cells));
        }
        synchronized (out) {
            out.printf(Locale.ROOT, "  %-5s %-9s %-13s seed %d: %d requests, capacity %.2f req/s, %d loads in"
                            + " %.1f s%n", engine.flagValue(), fleet, member.name(), seed, w.requests().size(),
                    capacity, s.loads().size(), (System.nanoTime() - t0) / 1e9);
        }
        return trials;
    }

    /**
     * {@code --curve F}: the greedy reference's load curve of each workload (rates from a sixteenth of the workload's
     * own rate up to 16 times it, by factors of F) and the capacity found, to see how capacity is decided.
     */
    private static int curves(Settings s, double factor, PrintStream out) throws Exception {
        for (Family.Member m : s.workloads()) {
            Setup setup = Setup.of(m, s.seeds().get(0), s.model(), s.requests(), s.simFlags(), s.engines().get(0),
                    s.pods(), s.fleets().get(0));
            Workloads.Workload w = setup.first();
            List<SimConfig> pods = setup.pods();
            double[] slow = setup.slow();
            out.printf(Locale.ROOT, "%s: %d requests, own rate %.2f req/s%n", m.name(), w.requests().size(),
                    Family.nativeRate(w));
            for (double r = Family.nativeRate(w) / 16; r <= Family.nativeRate(w) * 16; r *= factor) {
                Capacity.Point p = Capacity.at(w, r, pods, slow);
                out.printf(Locale.ROOT, "  %9.2f req/s  TTFT p50 %8.0f p90 %8.0f  started %.2f  E2E %8.0f  span %9.0f"
                                + " ms%s%n", r, p.ttftP50(), p.ttftP90(), p.startedShare(), p.meanE2eMs(), p.spanMs(),
                        p.keptUp() ? "" : p.steady() ? "  (not kept up)" : "  (too short to tell)");
            }
            Capacity.Found found = setup.capacity(s.maxRequests());
            out.printf(Locale.ROOT, "  capacity %.2f req/s (a steady run there: %d requests)%n", found.rate(),
                    found.workload().requests().size());
        }
        return 0;
    }

    /**
     * One workload of the family on one fleet for one seed: the workload at its first size, the pods (the sim
     * flags over the replay's defaults for it) and their slow factors.
     */
    record Setup(Family.Member member, long seed, String model, Workloads.Workload first, List<SimConfig> pods,
                 double[] slow) {

        static Setup of(Family.Member member, long seed, String model, int requests, Flags simFlags,
                        EngineModel engine, int podCount, String fleet) throws java.io.IOException {
            Workloads.Workload first = Family.generate(member, requests, seed, model);
            SimConfig config = SimFlags.config(simFlags, model, Replay.lanesDefaults(first, model), engine)
                    .withSeed(seed);
            return new Setup(member, seed, model, first, FleetSimulation.uniform(config, podCount), slowFactors(fleet,
                    podCount));
        }

        /** The workload's capacity on these pods, runs lengthened up to {@code maxRequests} until steady. */
        Capacity.Found capacity(int maxRequests) throws java.io.IOException {
            return Capacity.find(n -> Family.generate(member, n, seed, model), first.requests().size(), maxRequests,
                    pods, slow, 0.1);
        }
    }

    /** Per-pod slow factors: uniform, one pod at half speed (a straggler), or every other pod 1.5x slower. */
    /**
     * The capacity in requests per second of {@code pods} uniform pods of {@code sim} for the workload {@code gen}
     * makes (n requests at its own rate), as the greedy reference finds it (the board's {@link Capacity}): what the
     * replay's {@code load} parameters are fractions of.
     */
    public static double capacity(Capacity.Generator gen, int n, SimConfig sim, int pods) throws java.io.IOException {
        double[] slow = new double[pods];
        Arrays.fill(slow, 1.0);
        return Capacity.find(gen, n, Capacity.MAX_REQUESTS, FleetSimulation.uniform(sim, pods), slow, 0.1).rate();
    }

    static double[] slowFactors(String fleet, int pods) {
        double[] slow = new double[pods];
        Arrays.fill(slow, 1.0);
        switch (fleet) {
            case "straggler" -> slow[pods - 1] = 2.0;
            case "mixed" -> {
                for (int i = 1; i < pods; i += 2) {
                    slow[i] = 1.5;
                }
            }
            default -> {
            }
        }
        return slow;
    }

    static FleetSimulation.Run runPolicy(Settings s, String policy, List<FleetSimulation.Arrival> arrivals,
                                         List<SimConfig> pods, double[] slow, long seed) throws Exception {
        if (policy.equals(ROUND_ROBIN)) {
            return FleetSimulation.run(arrivals, pods, slow, (i, a, now, fleet) -> i % fleet.size());
        }
        if (STEP_BLIND.containsKey(policy)) {
            return FleetSimulation.run(arrivals, pods, slow, new StepBlindReference(STEP_BLIND.get(policy)));
        }
        Path file = s.configs().resolve(policy + ".yaml");
        if (!Files.isRegularFile(file)) {
            throw new Flags.UsageException("no config for policy " + policy + " (" + file + ")");
        }
        // --drop-kv-events: that share of the pods stop publishing a third of the way into the arrivals
        long lastArrival = arrivals.isEmpty() ? 0 : arrivals.get(arrivals.size() - 1).arrivalMs();
        EppRouter.KvEventDrop drop = s.dropKvEvents() > 0
                ? new EppRouter.KvEventDrop((int) Math.round(s.dropKvEvents() * pods.size()),
                        lastArrival * 1_000_000L / 3)
                : EppRouter.KvEventDrop.NONE;
        List<EppRouter> replicas = new ArrayList<>();
        try {
            for (int r = 0; r < s.eppReplicas(); r++) {
                replicas.add(new EppRouter(Files.readString(file), file.toString(), pods.size(), seed + r,
                        s.scrapeNanos(), drop));
            }
            return FleetSimulation.run(arrivals, pods, slow, new ReplicatedRouter(replicas));
        } finally {
            replicas.forEach(EppRouter::close);
        }
    }
}
