package io.epp4j.bench.scoreboard;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.replay.Workloads;
import io.epp4j.bench.sim.EngineCore;
import io.epp4j.bench.sim.EngineModel;
import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.epp.scheduling.Decision;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code scoreboard-explain --workload W --load L --policy P --out FILE}: one scoreboard cell with every decision
 * of an EPP policy written out beside what each pod would have given the request (its first-token time if it were
 * sent there and nothing else arrived): which pod the policy chose, which one was best, the regret, and every
 * scorer's score per pod. For finding out why a policy loses to the greedy reference.
 */
public final class Explain {

    private Explain() {
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("workload", "load", "policy", "out", "seed", "requests",
                "pods", "fleet", "configs", "model", "max-requests")), Set.of());
        Path repo = Replay.defaultConfigs(Path.of("")).getParent().getParent();
        Family.Member member = Family.select(repo, f.required("workload")).get(0);
        long seed = f.longValue("seed", 42);
        String model = f.string("model", "Qwen/Qwen3-8B");
        int podCount = f.integer("pods", 10);
        Scoreboard.Setup setup = Scoreboard.Setup.of(member, seed, model, f.integer("requests", 300), f,
                EngineModel.STEP, podCount, f.string("fleet", "uniform"));
        List<SimConfig> pods = setup.pods();
        double[] slow = setup.slow();
        Capacity.Found found = setup.capacity(f.integer("max-requests", Capacity.MAX_REQUESTS));
        Workloads.Workload w = found.workload();
        double capacity = found.rate();
        double rate = Double.parseDouble(f.string("load", "0.5")) * capacity;
        List<FleetSimulation.Arrival> arrivals = Family.atRate(w, rate);
        Path configs = f.has("configs") ? Path.of(f.string("configs", "")) : Replay.defaultConfigs(Path.of(""));
        Path file = configs.resolve(f.required("policy") + ".yaml");
        StringBuilder csv = new StringBuilder("index,arrival_ms,prompt_tokens,chosen,best,chosen_ms,best_ms,"
                + "regret_ms,pod,whatif_ms,running,waiting,kv,scores\n");
        double[] regret = new double[arrivals.size()];
        try (EppRouter epp = new EppRouter(Files.readString(file), file.toString(), podCount, seed,
                50_000_000L)) {
            FleetSimulation.Router explaining = new FleetSimulation.Router() {
                @Override
                public int route(int index, FleetSimulation.Arrival a, long now, FleetSimulation.Fleet fleet) {
                    long[] at = new long[fleet.size()];
                    int best = 0;
                    for (int p = 0; p < fleet.size(); p++) {
                        EngineCore e = fleet.pod(p);
                        String adapter = a.model().equals(e.config().model()) ? null : a.model();
                        at[p] = e.whatIfFirstToken(adapter, a.prompt(), a.outputTokens(), now, Long.MAX_VALUE);
                        if (at[p] < at[best]) {
                            best = p;
                        }
                    }
                    int chosen = epp.route(index, a, now, fleet);
                    Decision d = epp.decision(index);
                    regret[index] = chosen < 0 ? 0 : (at[chosen] - at[best]) / 1e6;
                    for (int p = 0; p < fleet.size(); p++) {
                        EngineCore.Snapshot s = fleet.pod(p).snapshot(now);
                        StringBuilder scores = new StringBuilder();
                        if (d != null) {
                            for (int k = 0; k < d.scorers().size(); k++) {
                                scores.append(d.scorers().get(k)).append('=').append(String.format(Locale.ROOT,
                                        "%.3f", d.rawScores()[k][p])).append(' ');
                            }
                        }
                        csv.append(String.format(Locale.ROOT, "%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%d,%.1f,%d,%d,%.3f,%s%n",
                                index, a.arrivalMs(), EngineCore.promptTokens(a.prompt()), chosen, best,
                                chosen < 0 ? -1 : (at[chosen] - now) / 1e6, (at[best] - now) / 1e6, regret[index], p,
                                (at[p] - now) / 1e6, s.running(), s.waiting(), s.kvUsage(), scores.toString().trim()));
                    }
                    return chosen;
                }

                @Override
                public void firstToken(int index, int pod, long at) {
                    epp.firstToken(index, pod, at);
                }

                @Override
                public void finished(int index, int pod, io.epp4j.bench.sim.Seq seq, int status, long at) {
                    epp.finished(index, pod, seq, status, at);
                }

                @Override
                public void tick(long now, FleetSimulation.Fleet fleet) {
                    epp.tick(now, fleet);
                }

                @Override
                public long tickNanos() {
                    return epp.tickNanos();
                }
            };
            Cell cell = Cell.of(f.required("policy"), FleetSimulation.run(arrivals, pods, slow, explaining));
            Files.writeString(Path.of(f.required("out")), csv.toString());
            double[] sorted = regret.clone();
            java.util.Arrays.sort(sorted);
            out.printf(Locale.ROOT, "%s at %.2f req/s: TTFT p50 %.0f p90 %.0f ms; decision regret (first token vs the"
                            + " best pod at that moment) p50 %.0f p90 %.0f p99 %.0f ms, %d of %d decisions not the"
                            + " best%n", member.name(), rate, cell.ttftP50(), cell.ttftP90(),
                    sorted[sorted.length / 2], sorted[(int) (sorted.length * 0.9)],
                    sorted[(int) (sorted.length * 0.99)], java.util.Arrays.stream(regret).filter(r -> r > 1).count(),
                    regret.length);
        }
        return 0;
    }
}
