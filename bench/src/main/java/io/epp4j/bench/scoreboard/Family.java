package io.epp4j.bench.scoreboard;

import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.replay.Workloads;
import io.epp4j.bench.sim.FleetSimulation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The scoreboard's workload family: each member a named workload spec ({@link Workloads#load}) whose requests are
 * generated once per seed at their own rate and then spread in time to reach a given load (arrival times scaled,
 * so bursts, sessions and think times keep their shape).
 */
final class Family {

    /** One workload of the family. */
    record Member(String name, String spec, List<String> loras) {
    }

    /** The whole family, in scoreboard order. */
    static List<Member> all(Path repoRoot) {
        List<Member> out = new ArrayList<>();
        out.add(new Member("agentic", "gen:agentic", List.of()));
        out.add(new Member("heavy-tail", "gen:heavy-tail", List.of()));
        out.add(new Member("shared-prefix", "gen:shared-prefix", List.of()));
        out.add(new Member("multi-turn", "gen:multi-turn", List.of()));
        out.add(new Member("lora-mix", "gen:lora-mix", List.of()));
        out.add(new Member("bursts", "gen:bursts", List.of()));
        out.add(new Member("decode-heavy", "gen:decode-heavy", List.of()));
        out.add(new Member("rag", "gen:rag", List.of()));
        out.add(new Member("mooncake", repoRoot.resolve(Workloads.DEFAULT_TRACE).toString(), List.of()));
        return out;
    }

    /** The members named in {@code names} (comma list), or all. */
    static List<Member> select(Path repoRoot, String names) {
        List<Member> all = all(repoRoot);
        if (names == null || names.isBlank()) {
            return all;
        }
        List<Member> out = new ArrayList<>();
        for (String n : names.split(",")) {
            Member m = all.stream().filter(x -> x.name().equals(n.trim())).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown workload " + n + " ("
                            + String.join(", ", all.stream().map(Member::name).toList()) + ")"));
            out.add(m);
        }
        return out;
    }

    /** A member's requests for one seed, at its own rate. */
    static Workloads.Workload generate(Member m, int requests, long seed, String model) throws IOException {
        return Workloads.load(m.spec(), requests, seed, model);
    }

    /**
     * The workload's arrivals at {@code rate} requests per second: every arrival time stretched (or compressed) by
     * the same factor, so sessions and bursts keep their shape.
     */
    static List<FleetSimulation.Arrival> atRate(Workloads.Workload w, double rate) {
        double stretch = nativeRate(w) / rate;
        List<FleetSimulation.Arrival> out = new ArrayList<>();
        long first = w.requests().isEmpty() ? 0 : w.requests().get(0).arrivalMs();
        for (FleetSimulation.Arrival a : Replay.arrivals(w)) {
            out.add(new FleetSimulation.Arrival(Math.round((a.arrivalMs() - first) * stretch), a.model(),
                    a.prompt(), a.outputTokens()));
        }
        return out;
    }

    /** Requests per second of the workload as generated (requests over the span of their arrivals). */
    static double nativeRate(Workloads.Workload w) {
        List<io.epp4j.bench.replay.TraceRequest> r = w.requests();
        double span = (r.get(r.size() - 1).arrivalMs() - r.get(0).arrivalMs()) / 1000.0;
        return span <= 0 ? Double.POSITIVE_INFINITY : (r.size() - 1) / span;
    }
}
