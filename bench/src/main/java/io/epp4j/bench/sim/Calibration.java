package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Flags;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code calibrate [--engine-profile P] [--requests N] [--seed S]}: what one simulated pod of a step profile does on
 * the workload shapes vLLM's published benchmarks use, to be set beside those figures
 * ({@code bench/results/simulator-calibration.md}): an idle pod's TTFT by prompt length and decode step time by
 * batch, and a ShareGPT-shaped serving run (prompt and output lengths log-normal around 202 and 179 tokens, as
 * in vLLM's ShareGPT benchmark, Poisson arrivals) at several request rates and with every request at once.
 * Everything runs in simulated time with the step engine itself.
 */
public final class Calibration {

    static final double[] RATES = {1, 2, 4, 8, 16, 20, 32, 40, 50, 60, 70};

    private Calibration() {
    }

    public static int run(String[] args, PrintStream out) {
        Flags f = Flags.parse(args, Set.of("engine-profile", "requests", "seed", "rates"), Set.of());
        StepProfile profile;
        try {
            profile = StepProfile.named(f.string("engine-profile", StepProfile.H100_8B.name()));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        int requests = f.integer("requests", 500);
        long seed = f.longValue("seed", 42);
        double[] rates = f.has("rates") ? Arrays.stream(f.string("rates", "").split(","))
                .mapToDouble(Double::parseDouble).toArray() : RATES;
        SimConfig config = SimConfig.stepDefaults("m", profile);
        out.printf(Locale.ROOT, "profile %s: step %.1f ms + %.3f ms/token + %.3f ms per 1k decode context + %.2f ms"
                        + " per M prefill pairs; %d batched tokens, %d sequences, %d KV blocks%n", profile.name(),
                profile.stepOverheadMs(), profile.perTokenMs(), profile.decodeContextMsPer1k(),
                profile.prefillAttentionMsPerMPairs(), profile.maxNumBatchedTokens(), profile.maxNumSeqs(),
                profile.kvBlocks());
        out.println("idle pod, one request: TTFT by prompt length (ms)");
        for (int tokens : new int[] {256, 1024, 2048, 8192, 32768}) {
            FleetSimulation.Run r = single(config, tokens, 2);
            out.printf(Locale.ROOT, "  %6d tokens  %8.1f%n", tokens, r.outcomes().get(0).ttftMs());
        }
        out.println("decode step with B sequences of 1,024-token context (ms): the inter-token latency at batch B");
        for (int batch : new int[] {1, 32, 64, 128, 256}) {
            out.printf(Locale.ROOT, "  B=%-4d %8.1f%n", batch, decodeItl(config, batch, 1024));
        }
        out.printf("ShareGPT-shaped run, %d requests (mean prompt %d, mean output %d tokens), seed %d%n", requests,
                Math.round(mean(sharegpt(requests, 1, seed), true)), Math.round(mean(sharegpt(requests, 1, seed),
                        false)), seed);
        out.println("  rate req/s   TTFT mean   TPOT mean   E2E mean (ms)   served req/s   preempted");
        List<double[]> rows = new ArrayList<>();
        for (double rate : rates) {
            rows.add(serving(config, sharegpt(requests, rate, seed)));
        }
        rows.add(serving(config, sharegpt(requests, Double.POSITIVE_INFINITY, seed)));
        for (int i = 0; i < rows.size(); i++) {
            double[] r = rows.get(i);
            out.printf(Locale.ROOT, "  %10s %11.0f %11.1f %14.0f %14.1f %11.0f%n",
                    i < rates.length ? String.valueOf(rates[i]) : "all at once", r[0], r[1], r[2], r[3], r[4]);
        }
        return 0;
    }

    private static FleetSimulation.Run single(SimConfig config, int tokens, int output) {
        String prompt = "x".repeat(tokens * SimConfig.CHARS_PER_TOKEN);
        return FleetSimulation.run(List.of(new FleetSimulation.Arrival(0, config.model(), prompt, output)),
                List.of(config), null, (i, a, now, fleet) -> 0);
    }

    /** The inter-token latency of {@code batch} requests decoding together at {@code context} tokens. */
    static double decodeItl(SimConfig config, int batch, int context) {
        StepEngine e = new StepEngine(config);
        List<Seq> seqs = new ArrayList<>();
        try {
            for (int i = 0; i < batch; i++) {
                // distinct prompts, so no request is served from another's cache
                seqs.add(e.submit(null, (i + ":").repeat(context * 2).substring(0, context
                        * SimConfig.CHARS_PER_TOKEN), 1000, i, 0));
            }
        } catch (EngineCore.RejectedException ex) {
            throw new IllegalStateException(ex);
        }
        // prefill everyone, then time ten steps of pure decoding
        while (seqs.stream().anyMatch(s -> s.generated() == 0)) {
            e.advance(e.nextEventNanos(), EngineCore.Events.NONE);
        }
        e.advance(e.nextEventNanos(), EngineCore.Events.NONE);
        long start = e.nextEventNanos();
        for (int i = 0; i < 10; i++) {
            e.advance(e.nextEventNanos(), EngineCore.Events.NONE);
        }
        return (e.nextEventNanos() - start) / 10 / 1e6;
    }

    /**
     * ShareGPT-like requests: prompt and output lengths log-normal (σ 1) with means of 202 and 179 tokens, cut to
     * 4..1,024 prompt and 4..1,024 output tokens; Poisson arrivals at {@code rate} per second (all at 0 when
     * infinite); every prompt its own text.
     */
    static List<FleetSimulation.Arrival> sharegpt(int n, double rate, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<FleetSimulation.Arrival> out = new ArrayList<>();
        double t = 0;
        for (int i = 0; i < n; i++) {
            if (!Double.isInfinite(rate)) {
                t += -Math.log(1 - r.nextDouble()) / rate * 1000;
            }
            int prompt = logNormal(r, 202, 4, 1024);
            int output = logNormal(r, 179, 4, 1024);
            StringBuilder sb = new StringBuilder(prompt * SimConfig.CHARS_PER_TOKEN);
            String tag = i + "|";
            while (sb.length() < prompt * SimConfig.CHARS_PER_TOKEN) {
                sb.append(tag);
            }
            sb.setLength(prompt * SimConfig.CHARS_PER_TOKEN);
            out.add(new FleetSimulation.Arrival((long) t, "m", sb.toString(), output));
        }
        return out;
    }

    private static int logNormal(SplittableRandom r, double mean, int min, int max) {
        double sigma = 1.0;
        double mu = Math.log(mean) - sigma * sigma / 2;
        double v = Math.exp(mu + sigma * EngineBase.gaussian(r));
        return (int) Math.max(min, Math.min(max, Math.round(v)));
    }

    private static double mean(List<FleetSimulation.Arrival> arrivals, boolean prompt) {
        return arrivals.stream().mapToDouble(a -> prompt ? EngineCore.promptTokens(a.prompt()) : a.outputTokens())
                .average().orElse(0);
    }

    /** TTFT, TPOT and E2E means (ms), served requests per second, preempted requests. */
    private static double[] serving(SimConfig config, List<FleetSimulation.Arrival> arrivals) {
        FleetSimulation.Run run = FleetSimulation.run(arrivals, List.of(config), null, (i, a, now, fleet) -> 0);
        double ttft = 0;
        double tpot = 0;
        double e2e = 0;
        long end = 0;
        int preempted = 0;
        for (FleetSimulation.Outcome o : run.outcomes()) {
            ttft += o.ttftMs();
            tpot += o.itlMs();
            e2e += (o.finishedNanos() - o.arrivalNanos()) / 1e6;
            end = Math.max(end, o.finishedNanos());
            preempted += o.preemptions() > 0 ? 1 : 0;
        }
        int n = run.outcomes().size();
        return new double[] {ttft / n, tpot / n, e2e / n, n / (end / 1e9), preempted};
    }
}
