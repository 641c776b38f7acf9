package io.epp4j.bench.sim;

import java.util.List;

/**
 * Configuration of one simulated vLLM server. Durations are in simulated milliseconds; the server sleeps
 * {@code duration / timeScale} of real time, so {@code timeScale = 20} replays twenty times faster.
 *
 * @param model served base model name
 * @param loras LoRA adapter names served on top of the base model
 * @param maxLoras how many distinct adapters may run at once (vLLM {@code --max-loras})
 * @param maxNumSeqs running slots (vLLM {@code --max-num-seqs})
 * @param maxWaiting waiting-queue bound; a full queue answers 429
 * @param kvBlocks KV-cache capacity in blocks ({@code num_gpu_blocks})
 * @param blockSize tokens per KV block
 * @param prefillOverheadMs fixed part of the time to first token
 * @param prefillPerTokenMs prefill cost per uncached prompt token
 * @param interTokenMs inter-token latency with one running request
 * @param loadFactor multiplier on TTFT and ITL when all {@code maxNumSeqs} slots run (1 = no slowdown)
 * @param jitter relative standard deviation of every sampled duration (0 = deterministic)
 * @param defaultMaxTokens output tokens when a request sets no {@code max_tokens}
 * @param maxModelLen longest prompt + output accepted, in tokens
 * @param timeScale how much faster than simulated time the server runs
 * @param seed seed of every random choice
 * @param engineModel how the server schedules ({@link EngineModel}); the prefill and inter-token parameters above
 *     belong to {@link EngineModel#LANES}, {@code step} to {@link EngineModel#STEP}
 * @param step the step engine's cost model
 */
public record SimConfig(String model, List<String> loras, int maxLoras, int maxNumSeqs, int maxWaiting,
                        int kvBlocks, int blockSize, double prefillOverheadMs, double prefillPerTokenMs,
                        double interTokenMs, double loadFactor, double jitter, int defaultMaxTokens,
                        int maxModelLen, double timeScale, long seed, EngineModel engineModel, StepProfile step) {

    /** Characters per token: the simulator does not tokenize, it approximates. */
    public static final int CHARS_PER_TOKEN = 4;

    public SimConfig {
        loras = List.copyOf(loras);
        if (maxNumSeqs < 1 || kvBlocks < 1 || blockSize < 1 || timeScale <= 0) {
            throw new IllegalArgumentException("maxNumSeqs, kvBlocks, blockSize and timeScale must be positive");
        }
        java.util.Objects.requireNonNull(engineModel, "engineModel");
        java.util.Objects.requireNonNull(step, "step");
    }

    /**
     * The lanes model's 8B-on-H100-like profile (ITL 12 ms, 30 ms + 0.25 ms/token prefill, 2x slowdown at full
     * batch, 16 running slots, 8,192 KV blocks).
     */
    public static SimConfig defaults(String model) {
        return new SimConfig(model, List.of(), 2, 16, 1000, 8192, 16, 30, 0.25, 12, 2.0, 0.0, 16,
                131072, 1.0, 42, EngineModel.LANES, StepProfile.H100_8B);
    }

    /** The step engine model with {@code profile}'s costs, running slots and KV blocks. */
    public static SimConfig stepDefaults(String model, StepProfile profile) {
        return defaults(model).withEngine(EngineModel.STEP, profile)
                .withCapacity(profile.maxNumSeqs(), 1000, profile.kvBlocks());
    }

    /**
     * The engine model a command starts with by default: {@link EngineModel#STEP} with {@code h100-8b}, or the
     * lanes model's own defaults.
     */
    public static SimConfig forModel(String model, EngineModel engine, StepProfile profile) {
        return engine == EngineModel.STEP ? stepDefaults(model, profile) : defaults(model).withEngine(engine,
                profile);
    }

    public SimConfig withEngine(EngineModel engineModel, StepProfile step) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withLoras(List<String> loras, int maxLoras) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withCapacity(int maxNumSeqs, int maxWaiting, int kvBlocks) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withLatency(double prefillOverheadMs, double prefillPerTokenMs, double interTokenMs,
                                 double loadFactor) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withTimeScale(double timeScale) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withSeed(long seed) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    public SimConfig withJitter(double jitter) {
        return new SimConfig(model, loras, maxLoras, maxNumSeqs, maxWaiting, kvBlocks, blockSize,
                prefillOverheadMs, prefillPerTokenMs, interTokenMs, loadFactor, jitter, defaultMaxTokens,
                maxModelLen, timeScale, seed, engineModel, step);
    }

    /** Whether {@code name} is the base model or one of its adapters. */
    public boolean serves(String name) {
        return model.equals(name) || loras.contains(name);
    }
}
