package io.epp4j.bench.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What both engine models share: the configuration, the KV cache, the waiting queue, the running adapters, the
 * counters vLLM exports, arrival checks and the end of a request. Each model schedules its own way.
 *
 * <p>Not thread-safe (see {@link EngineCore}).
 */
abstract sealed class EngineBase implements EngineCore permits StepEngine, LanesEngine {

    final SimConfig config;
    final KvCache cache;
    /** The real cache, for what-if copies; null in a copy. */
    final PrefixCache realCache;
    /** Null: no jitter. */
    final SplittableRandom random;
    final ArrayDeque<Seq> waiting = new ArrayDeque<>();
    final Map<String, Integer> runningPerAdapter = new HashMap<>();
    double slow = 1.0;
    long nextId;

    long promptTokens;
    long generationTokens;
    long prefixQueries;
    long prefixHits;
    long finishedStop;
    long finishedLength;
    long finishedAbort;

    EngineBase(SimConfig config, KvCache cache, SplittableRandom random) {
        this.config = config;
        this.cache = cache;
        this.realCache = cache instanceof PrefixCache p ? p : null;
        this.random = random;
    }

    /** The random source of a server's engine: seeded from its config, none without jitter. */
    static SplittableRandom randomFor(SimConfig config) {
        return config.jitter() > 0 ? new SplittableRandom(config.seed()) : null;
    }

    @Override
    public final SimConfig config() {
        return config;
    }

    @Override
    public final void setSlowFactor(double factor) {
        this.slow = factor;
    }

    @Override
    public final void resetPrefixCache() {
        cache.clearUnreferenced();
    }

    /** The prompt's KV block hashes: the adapter's when it has one, else the base model's. */
    final long[] hashes(String adapter, String prompt) {
        return PrefixCache.blockHashes(adapter == null ? config.model() : adapter, prompt, config.blockSize());
    }

    /**
     * The request as a new sequence at the end of the waiting queue, after vLLM's checks at arrival: the context
     * limit and a request larger than the whole KV cache (400), a full waiting queue (429).
     */
    @Override
    public final int cachedPromptTokens(String adapter, String prompt) {
        return Math.min(cache.cachedPrefix(hashes(adapter, prompt)) * config.blockSize(),
                EngineCore.promptTokens(prompt));
    }

    final Seq enqueue(String adapter, String prompt, int outputTokens, Object tag, long nowNanos)
            throws RejectedException {
        Seq s = new Seq(nextId++, adapter, hashes(adapter, prompt), prompt, EngineCore.promptTokens(prompt), outputTokens,
                nowNanos, tag);
        if (s.promptTokens + s.maxTokens > config.maxModelLen()) {
            throw new RejectedException(400, "This model's maximum context length is " + config.maxModelLen()
                    + " tokens. However, you requested " + (s.promptTokens + s.maxTokens) + " tokens.");
        }
        int blocks = ceilDiv(s.promptTokens + s.maxTokens, config.blockSize());
        if (blocks > config.kvBlocks()) {
            throw new RejectedException(400, "request needs " + blocks + " KV blocks but the cache has "
                    + config.kvBlocks());
        }
        if (waiting.size() >= config.maxWaiting()) {
            throw new RejectedException(429, "waiting queue is full (" + config.maxWaiting() + ")");
        }
        waiting.addLast(s);
        return s;
    }

    /** Frees the request's KV blocks and, when it held one, its adapter's running slot. */
    final void releaseBlocksAndAdapter(Seq s, boolean heldAdapterSlot) {
        cache.release(s.hashes, s.pinnedBlocks, s.anonymousBlocks);
        s.pinnedBlocks = 0;
        s.anonymousBlocks = 0;
        if (s.adapter != null && heldAdapterSlot) {
            runningPerAdapter.merge(s.adapter, -1, Integer::sum);
            runningPerAdapter.remove(s.adapter, 0);
        }
    }

    /** The request ends at {@code t}: counted by its reason (abort, stop, length) and reported. */
    final void finish(Seq s, long t, Events events) {
        s.finished = true;
        s.running = false;
        s.finishedNanos = t;
        if (s.aborted) {
            finishedAbort++;
        } else if (s.stopReason) {
            finishedStop++;
        } else {
            finishedLength++;
        }
        events.finished(s, t);
    }

    /** The adapters of waiting requests, each once, in queue order. */
    final List<String> waitingAdapters() {
        List<String> out = new ArrayList<>();
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        for (Seq s : waiting) {
            if (s.adapter != null && seen.add(s.adapter)) {
                out.add(s.adapter);
            }
        }
        return out;
    }

    /** A snapshot with this engine's counters and cache, as vLLM would report the given queues. */
    final Snapshot snapshot(int running, int waitingNow, long preemptions) {
        return new Snapshot(running, waitingNow, (double) cache.usedBlocks() / cache.totalBlocks(),
                cache.residentBlocks(), runningPerAdapter.keySet().stream().sorted().toList(), waitingAdapters(),
                promptTokens, generationTokens, prefixQueries, prefixHits, finishedStop, finishedLength,
                finishedAbort, preemptions);
    }

    /** A what-if copy starts from this engine's slowness, ids and adapters. */
    final void copyStateInto(EngineBase copy) {
        copy.slow = slow;
        copy.nextId = nextId;
        copy.runningPerAdapter.putAll(runningPerAdapter);
    }

    /**
     * Runs a what-if copy, into which {@code mine} was just submitted, until {@code mine}'s first token; or
     * {@link Long#MAX_VALUE} when that would come after {@code giveUpAtNanos}.
     */
    static long runUntilFirstToken(EngineBase copy, Seq mine, long giveUpAtNanos) {
        while (mine.firstTokenNanos < 0) {
            long next = copy.nextEventNanos();
            if (next == Long.MAX_VALUE || next > giveUpAtNanos) {
                return Long.MAX_VALUE;
            }
            copy.advance(next, Events.NONE);
        }
        return mine.firstTokenNanos;
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** A standard normal sample. */
    static double gaussian(SplittableRandom r) {
        double u = Math.max(1e-12, r.nextDouble());
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
