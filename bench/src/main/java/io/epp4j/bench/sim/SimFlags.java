package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Flags;

import java.util.HashSet;
import java.util.Set;

/**
 * The simulated servers' flags that {@code sim}, {@code stack}, {@code replay}, {@code oracle} and
 * {@code scoreboard} share: the engine model and its profile, and the engine limits that override the profile's.
 */
public final class SimFlags {

    /** The valued flags {@link #config} reads. */
    public static final Set<String> NAMES = Set.of("engine-model", "engine-profile", "max-num-seqs", "kv-blocks",
            "block-size", "max-num-batched-tokens", "max-loras", "max-waiting", "prefill-ms-per-token", "itl-ms");

    /** The default engine model of every command. */
    public static final EngineModel DEFAULT_ENGINE = EngineModel.STEP;

    private SimFlags() {
    }

    /** {@code names} plus {@link #NAMES}. */
    public static Set<String> with(Set<String> names) {
        Set<String> all = new HashSet<>(names);
        all.addAll(NAMES);
        return all;
    }

    /**
     * The server configuration for {@code model}: {@code --engine-model} (default step) with
     * {@code --engine-profile} (default h100-8b) and its limits, each overridden by its flag. The lanes model
     * keeps its own defaults ({@code lanesDefaults}), with {@code --prefill-ms-per-token} and {@code --itl-ms}.
     */
    public static SimConfig config(Flags f, String model, SimConfig lanesDefaults) {
        EngineModel engine;
        try {
            engine = EngineModel.parse(f.string("engine-model", DEFAULT_ENGINE.flagValue()));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        return config(f, model, lanesDefaults, engine);
    }

    /** The same with the engine model given (the scoreboard runs several). */
    public static SimConfig config(Flags f, String model, SimConfig lanesDefaults, EngineModel engine) {
        StepProfile profile;
        try {
            profile = StepProfile.named(f.string("engine-profile", StepProfile.H100_8B.name()));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        if (engine == EngineModel.LANES && f.has("max-num-batched-tokens")) {
            throw new Flags.UsageException("--max-num-batched-tokens applies to --engine-model step only");
        }
        if (engine == EngineModel.STEP && (f.has("prefill-ms-per-token") || f.has("itl-ms"))) {
            throw new Flags.UsageException("--prefill-ms-per-token and --itl-ms apply to --engine-model lanes only;"
                    + " the step model takes its costs from --engine-profile");
        }
        SimConfig base = engine == EngineModel.STEP
                ? SimConfig.stepDefaults(model, profile).withLoras(lanesDefaults.loras(), lanesDefaults.maxLoras())
                        .withSeed(lanesDefaults.seed())
                : lanesDefaults.withEngine(EngineModel.LANES, profile);
        if (f.has("max-num-batched-tokens")) {
            StepProfile p = base.step();
            base = base.withEngine(engine, new StepProfile(p.name(), p.stepOverheadMs(), p.perTokenMs(),
                    p.decodeContextMsPer1k(), p.prefillAttentionMsPerMPairs(), positive(f, "max-num-batched-tokens",
                    p.maxNumBatchedTokens()), p.maxNumSeqs(), p.kvBlocks(), p.loraLoadMs(), p.kvTransferSetupMs(),
                    p.kvTransferMsPerToken()));
        }
        SimConfig c = new SimConfig(model, base.loras(), f.integer("max-loras", base.maxLoras()),
                positive(f, "max-num-seqs", base.maxNumSeqs()), positive(f, "max-waiting", base.maxWaiting()),
                positive(f, "kv-blocks", base.kvBlocks()), positive(f, "block-size", base.blockSize()),
                base.prefillOverheadMs(), f.decimal("prefill-ms-per-token", base.prefillPerTokenMs()),
                f.decimal("itl-ms", base.interTokenMs()), base.loadFactor(), base.jitter(), base.defaultMaxTokens(),
                base.maxModelLen(), base.timeScale(), base.seed(), engine, base.step());
        return c;
    }

    private static int positive(Flags f, String name, int dflt) {
        int v = f.integer(name, dflt);
        if (v < 1) {
            throw new Flags.UsageException("--" + name + " must be >= 1");
        }
        return v;
    }
}
