package io.epp4j.bench;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.extproc.NoopExtProcServer;
import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.load.LoadGenerator;
import io.epp4j.bench.load.Soak;
import io.epp4j.bench.replay.Replay;
import io.epp4j.bench.scoreboard.Scoreboard;
import io.epp4j.bench.sim.Calibration;
import io.epp4j.bench.sim.Faults;
import io.epp4j.bench.sim.KvEventCodec;
import io.epp4j.bench.sim.KvEventsConfig;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.stack.LocalStack;
import io.epp4j.gatewaykit.Dialect;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code java -jar bench.jar <command> [flags]}: simulators, local stack, replay and load generator. */
public final class BenchMain {

    static final String USAGE = """
            usage: java -jar bench/target/bench.jar <command> [flags]

            commands:
              stack    [--port 8080] [--pods 3] [--tls] [--bbr] [--demo-requests N] [--seed S] [--engine-model step|lanes]
                       two pools (Qwen/Qwen3-0.6B, TinyLlama/TinyLlama-1.1B-Chat-v1.0), one EPP each, gateway on --port;
                       --bbr: epp4j's body-based router (--mode bbr) in front of the routes, as on Envoy-based gateways
              sim      --model M [--pods N] [--base-port P] [--loras a,b] [--max-loras N] [--time-scale F] [--seed S]
                       [--engine-model step|lanes] [--engine-profile h100-8b|h100x4-70b|h100x8-70b] [--max-num-seqs N]
                       [--kv-blocks N] [--block-size N] [--max-num-batched-tokens N]
                       [--faults slow=4,errors=0.1,garbage-metrics,hang,kv-stop,kv-skip=N]
                       [--kv-events] [--kv-events-endpoint tcp://*:5557] [--kv-replay-endpoint tcp://*:5558]
                       [--kv-events-encoding map|array] [--kv-events-topic T]
              gateway  --pool NAME=BASE_MODEL=IP:PORT,IP:PORT[=EPP_HOST:EPP_PORT][;...] [--port 8080]
                       [--policy epp|round-robin|random] [--profile agentgateway|istio|envoy-ai-gateway|envoy] [--tls] [--models m=BASE,...]
              noop     [--port 9002] [--destination 127.0.0.1:8000]
              replay   [--trace FILE|gen:NAME[:k=v,...]] --policy NAME[,NAME...] --out DIR
                       [--pods N] [--speedup S] [--limit N] [--seed S] [--configs DIR] [--scrape-interval 50ms]
                       [--epp-in-process] [--prefill-pods P --decode-pods D]
                       policies: round-robin, random, least-queue, gaie-default, epp4j, pd (needs --prefill-pods)
                       trace: bench/traces/mooncake-conversation.jsonl unless --trace says otherwise
              oracle   [--trace FILE|gen:...] [--pods N] [--limit N] [--seed S] [--kv-blocks N] [--prefill-ms-per-token F]
                       [--model M]
                       [--engine-model step|lanes] [--engine-profile P] [--max-num-seqs N] [--kv-blocks N]
                       the greedy reference and the lower bound of TTFT on the replay's fleet (computed, not replayed)
              scoreboard --out DIR [--quick] [--workloads a,b] [--loads 0.5,0.8,1.0,1.3] [--policies round-robin,...]
                       [--seeds 2] [--requests 300] [--max-requests 1500] [--pods 10] [--engine-models step,lanes] [--fleets uniform,...]
                       every workload x load x policy against the greedy reference and the lower bound
              scoreboard-explain --workload NAME --policy P --out FILE.csv [--load 0.5] [--fleet uniform] [--requests 300]
                       one cell's decisions: each pod's first-token what-if, the scorers' values, the regret
              pd       --prefill-pods P --decode-pods D [--both-pods B] --out DIR [--trace FILE|gen:...]
                       [--requests 300] [--policies round-robin,epp4j,pd,pd-queue] [--thresholds 2048,...]
                       [--loads 0.5,0.8 | --rates r,...]
                       [--kv-bytes-per-token 131072] [--kv-gbps 40] [--kv-setup-ms 1] [--pd-handshake-ms 0]
                       [--prefill-timeout-ms 30000] [--engine-profile P] [--seed S]
                       P/D (bench/configs/pd*.yaml, threshold swept) against the same pods aggregated, simulated time
              calibrate [--engine-profile P] [--requests 500] [--seed S] [--rates 1,2,4,...]
                       one simulated pod on the shapes of vLLM's published benchmarks
              load     --target HOST:PORT|embedded|noop [--tls] (--rps R | --max) [--duration S] [--body-bytes B]
                       [--endpoints N] [--concurrency C] [--profile agentgateway|istio|envoy-ai-gateway|envoy] [--compare-noop]
                       [--epp-config FILE] [--scrape-interval 50ms] [--tracing] [--out FILE]
                       [--open-streams N [--chunks-per-s 20]] [--connections C]
              soak     [--duration 10m] [--rps 2000] [--warmup 30s] [--sample-every 10s] [--window 60s] [--endpoints 16]
                       [--connections 2] [--epp-heap 512m] [--max-heap-growth-mb 16] [--max-thread-growth 4]
                       [--max-fd-growth 16] [--max-p99-ratio 1.5] [--p99-slack-ms 1] [--out FILE]
                       mixed traffic at a forked EPP; exit 1 unless heap, threads, fds and in-flight stay flat
                       and the decision p99 does not drift from the first window to the last
            """;

    private BenchMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the process exit status (2 on a usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "sim" -> sim(rest, out);
                case "gateway" -> gateway(rest, out);
                case "noop" -> noop(rest, out);
                case "stack" -> LocalStack.run(rest, out);
                case "replay" -> Replay.run(rest, out, (maker, n, sim, pods) ->
                        io.epp4j.bench.scoreboard.Scoreboard.capacity(maker::make, n, sim, pods));
                case "oracle" -> Replay.oracle(rest, out);
                case "calibrate" -> Calibration.run(rest, out);
                case "scoreboard" -> Scoreboard.run(rest, out);
                case "pd" -> io.epp4j.bench.scoreboard.PdBench.run(rest, out);
                case "scoreboard-explain" -> io.epp4j.bench.scoreboard.Explain.run(rest, out);
                case "load" -> LoadGenerator.run(rest, out);
                case "soak" -> Soak.run(rest, out);
                case "-h", "--help", "help" -> {
                    out.print(USAGE);
                    yield 0;
                }
                default -> throw new Flags.UsageException("unknown command: " + args[0]);
            };
        } catch (Flags.UsageException e) {
            err.println("error: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (Exception e) {
            err.println("error: " + e);
            return 1;
        }
    }

    private static int sim(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, SimFlags.with(Set.of("model", "pods", "base-port", "loras", "time-scale", "seed",
                "faults", "kv-events-endpoint", "kv-replay-endpoint", "kv-events-encoding", "kv-events-topic")),
                Set.of("kv-events"));
        SimConfig lanes = SimConfig.defaults(f.required("model")).withLoras(Flags.list(f.string("loras", "")), 2)
                .withSeed(f.longValue("seed", 42));
        SimConfig c = SimFlags.config(f, lanes.model(), lanes).withTimeScale(f.decimal("time-scale", 1.0));
        Faults faults;
        try {
            faults = Faults.parse(f.string("faults", ""));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        KvEventsConfig kv = null;
        if (f.bool("kv-events")) {
            try {
                KvEventsConfig d = KvEventsConfig.VLLM_DEFAULTS;
                kv = new KvEventsConfig(f.string("kv-events-endpoint", d.endpoint()),
                        f.has("kv-replay-endpoint") ? f.string("kv-replay-endpoint", "") : null,
                        f.has("kv-events-topic") ? f.string("kv-events-topic", "") : null,
                        KvEventCodec.Encoding.parse(f.string("kv-events-encoding", "map")), d.bufferSteps(), d.hwm());
            } catch (IllegalArgumentException e) {
                throw new Flags.UsageException(e.getMessage());
            }
        }
        SimFleet fleet = SimFleet.start(c, "sim", f.integer("pods", 1), f.integer("base-port", 0), kv);
        fleet.servers().forEach(s -> s.setFaults(faults));
        for (var s : fleet.servers()) {
            out.printf("sim pod %s model %s listening on http://%s%n", s.podName(), c.model(), s.hostPort());
            if (s.kvEvents() != null) {
                out.printf("  KV events on %s (topic %s)%s%n", s.kvEvents().endpoint(), s.kvEvents().topic(),
                        s.kvEvents().replayEndpoint() == null ? "" : ", replay on " + s.kvEvents().replayEndpoint());
            }
        }
        out.println("Ctrl-C to stop");
        Flags.awaitShutdown(fleet);
        return 0;
    }

    private static int gateway(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("port", "pool", "policy", "profile", "models", "seed"), Set.of("tls"));
        String policy = f.string("policy", "epp");
        Dialect dialect;
        try {
            dialect = Dialect.parse(f.string("profile", "agentgateway"));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        List<Pool> pools = new ArrayList<>();
        Map<String, String> models = new LinkedHashMap<>();
        for (String spec : f.required("pool").split(";")) {
            String[] parts = spec.split("=");
            if (parts.length < 3) {
                throw new Flags.UsageException("--pool wants NAME=BASE_MODEL=IP:PORT,...[=EPP_HOST:PORT], got " + spec);
            }
            Pool.Routing routing = switch (policy) {
                case "round-robin" -> new Pool.Balanced(Pool.Policy.ROUND_ROBIN, f.longValue("seed", 42));
                case "random" -> new Pool.Balanced(Pool.Policy.RANDOM, f.longValue("seed", 42));
                case "epp" -> {
                    if (parts.length < 4) {
                        throw new Flags.UsageException("--policy epp needs =EPP_HOST:PORT in --pool " + spec);
                    }
                    String[] hp = parts[3].split(":");
                    yield new Pool.ViaEpp(hp[0], Integer.parseInt(hp[1]), f.bool("tls"), dialect);
                }
                default -> throw new Flags.UsageException("unknown --policy " + policy);
            };
            pools.add(new Pool(parts[0], parts[1], Flags.list(parts[2]), routing));
            models.put(parts[1], parts[1]);
        }
        for (String m : Flags.list(f.string("models", ""))) {
            String[] kv = m.split("=", 2);
            models.put(kv[0], kv.length > 1 ? kv[1] : kv[0]);
        }
        GatewaySim gw = GatewaySim.start(f.integer("port", 8080), models, pools);
        out.printf("gateway listening on http://127.0.0.1:%d (%s, profile %s)%n", gw.port(), policy,
                dialect.flagValue());
        Flags.awaitShutdown(gw);
        return 0;
    }

    private static int noop(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("port", "destination"), Set.of());
        NoopExtProcServer s = NoopExtProcServer.start(f.integer("port", 9002), f.string("destination", "127.0.0.1:8000"));
        out.printf("no-op ext_proc server listening on 127.0.0.1:%d (destination %s)%n", s.port(),
                f.string("destination", "127.0.0.1:8000"));
        Flags.awaitShutdown(s);
        return 0;
    }
}
