package io.epp4j.bench.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.LongSupplier;

/**
 * The engine scheduler of one simulated vLLM server: continuous batching with {@code max-num-seqs} running
 * slots, a bounded FIFO waiting queue, a LoRA slot limit and KV-cache admission through a {@link PrefixCache}.
 *
 * <p>Prefill is modelled as one shared lane per server ({@link #reservePrefill}); decode slows down with
 * the batch size ({@link #loadMultiplier}).
 *
 * <p>Like vLLM's scheduler, it admits waiting requests in arrival order, skips a request whose adapter cannot
 * get a LoRA slot (later requests may pass it) and stops at the first request whose blocks do not fit.
 * Thread-safe: request threads call {@link #submit}, {@link #awaitRunning} and {@link #finish}; every state
 * change happens under the engine's lock.
 */
public final class SimEngine {

    /** One request inside the engine. */
    public static final class Sequence {
        final String adapter;
        final long[] hashes;
        final int promptTokens;
        final int outputTokens;
        final int extraBlocks;
        final long enqueuedNanos;
        final CountDownLatch admitted = new CountDownLatch(1);
        PrefixCache.Allocation allocation;
        long admittedNanos;
        int runningAtAdmission;

        Sequence(String adapter, long[] hashes, int promptTokens, int outputTokens, int extraBlocks, long now) {
            this.adapter = adapter;
            this.hashes = hashes;
            this.promptTokens = promptTokens;
            this.outputTokens = outputTokens;
            this.extraBlocks = extraBlocks;
            this.enqueuedNanos = now;
        }

        /** Prompt tokens served from the prefix cache (known once admitted). */
        public int cachedTokens(int blockSize) {
            return allocation == null ? 0 : allocation.cachedBlocks() * blockSize;
        }

        public int promptTokens() {
            return promptTokens;
        }

        public int outputTokens() {
            return outputTokens;
        }

        /** Running requests right after this one was admitted, itself included. */
        public int runningAtAdmission() {
            return runningAtAdmission;
        }

        public long queueNanos() {
            return admittedNanos - enqueuedNanos;
        }
    }

    /** Why a request was refused before queueing. */
    public static final class RejectedException extends Exception {
        private final int status;

        RejectedException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** Engine state at one instant, as /metrics reports it. */
    public record Snapshot(int running, int waiting, double kvUsage, int residentBlocks,
                           List<String> runningAdapters, List<String> waitingAdapters,
                           long promptTokens, long generationTokens, long prefixQueries, long prefixHits,
                           long finishedStop, long finishedLength, long finishedAbort, long preemptions) {
    }

    private final SimConfig config;
    private final LongSupplier nanoTicker;
    private final PrefixCache cache;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final Map<String, Integer> runningPerAdapter = new HashMap<>();
    private int running;
    private long prefillBusyUntil = Long.MIN_VALUE;
    /** Start times of reserved prefills, in order (the lane is FIFO, so they only grow). */
    private final ArrayDeque<Long> prefillStarts = new ArrayDeque<>();
    private long promptTokens;
    private long generationTokens;
    private long prefixQueries;
    private long prefixHits;
    private long finishedStop;
    private long finishedLength;
    private long finishedAbort;

    public SimEngine(SimConfig config, LongSupplier nanoTicker) {
        this.config = config;
        this.nanoTicker = nanoTicker;
        this.cache = new PrefixCache(config.kvBlocks());
    }

    /**
     * Queues a request; it runs once {@link #awaitRunning} returns.
     *
     * @param adapter the LoRA adapter, or null for the base model
     * @throws RejectedException 400 when it can never fit, 429 when the waiting queue is full
     */
    public Sequence submit(String adapter, String prompt, int outputTokens) throws RejectedException {
        int promptTokens = Math.max(1, (prompt.length() + SimConfig.CHARS_PER_TOKEN - 1) / SimConfig.CHARS_PER_TOKEN);
        if (promptTokens + outputTokens > config.maxModelLen()) {
            throw new RejectedException(400, "This model's maximum context length is " + config.maxModelLen()
                    + " tokens. However, you requested " + (promptTokens + outputTokens) + " tokens.");
        }
        // Adapters get their own cache namespace: the same text under another LoRA is different KV.
        long[] hashes = PrefixCache.blockHashes(adapter == null ? config.model() : adapter, prompt,
                config.blockSize());
        int totalBlocks = (promptTokens + outputTokens + config.blockSize() - 1) / config.blockSize();
        int extra = Math.max(0, totalBlocks - hashes.length);
        if (hashes.length + extra > config.kvBlocks()) {
            throw new RejectedException(400, "request needs " + (hashes.length + extra)
                    + " KV blocks but the cache has " + config.kvBlocks());
        }
        Sequence s = new Sequence(adapter, hashes, promptTokens, outputTokens, extra, nanoTicker.getAsLong());
        synchronized (this) {
            if (waiting.size() >= config.maxWaiting()) {
                throw new RejectedException(429, "waiting queue is full (" + config.maxWaiting() + ")");
            }
            waiting.addLast(s);
            schedule();
        }
        return s;
    }

    /** Blocks until {@code s} holds a running slot. */
    public void awaitRunning(Sequence s) throws InterruptedException {
        s.admitted.await();
    }

    /** Whether {@code s} already runs (non-blocking). */
    public boolean isRunning(Sequence s) {
        return s.admitted.getCount() == 0;
    }

    /** Ends {@code s}, running or still waiting, and admits whatever now fits. */
    public synchronized void finish(Sequence s, String finishReason, int generated) {
        if (s.allocation == null) {
            waiting.remove(s);
            finishedAbort++;
            return;
        }
        cache.release(s.allocation);
        s.allocation = null;
        running--;
        if (s.adapter != null) {
            runningPerAdapter.merge(s.adapter, -1, Integer::sum);
            runningPerAdapter.remove(s.adapter, 0);
        }
        generationTokens += generated;
        switch (finishReason) {
            case "stop" -> finishedStop++;
            case "length" -> finishedLength++;
            default -> finishedAbort++;
        }
        schedule();
    }

    private void schedule() {
        Iterator<Sequence> it = waiting.iterator();
        while (it.hasNext() && running < config.maxNumSeqs()) {
            Sequence s = it.next();
            if (s.adapter != null && !runningPerAdapter.containsKey(s.adapter)
                    && runningPerAdapter.size() >= config.maxLoras()) {
                continue;
            }
            PrefixCache.Allocation a = cache.allocate(s.hashes, s.extraBlocks);
            if (a == null) {
                break;
            }
            it.remove();
            s.allocation = a;
            running++;
            if (s.adapter != null) {
                runningPerAdapter.merge(s.adapter, 1, Integer::sum);
            }
            prefixQueries += s.promptTokens;
            prefixHits += (long) a.cachedBlocks() * config.blockSize();
            promptTokens += s.promptTokens;
            s.admittedNanos = nanoTicker.getAsLong();
            s.runningAtAdmission = running;
            s.admitted.countDown();
        }
    }

    /**
     * Reserves the server's prefill compute for {@code nanos}: prefills run one after another (they are
     * compute-bound), so a prefill that arrives while another runs waits for it.
     *
     * @return nanoseconds from now until this prefill is done
     */
    public synchronized long reservePrefill(long nanos) {
        long now = nanoTicker.getAsLong();
        long start = prefillBusyUntil == Long.MIN_VALUE || prefillBusyUntil - now < 0 ? now : prefillBusyUntil;
        prefillBusyUntil = start + nanos;
        prefillStarts.addLast(start);
        return prefillBusyUntil - now;
    }

    /** The slowdown at {@code runningNow} requests: 1 alone, {@code loadFactor} with every slot busy. */
    public double loadMultiplier(int runningNow) {
        if (config.maxNumSeqs() <= 1) {
            return config.loadFactor();
        }
        double f = (double) (Math.max(1, runningNow) - 1) / (config.maxNumSeqs() - 1);
        return 1.0 + (config.loadFactor() - 1.0) * Math.min(1.0, f);
    }

    public synchronized int running() {
        return running;
    }

    /** Admitted requests whose prefill has not started yet: vLLM has not scheduled them, they still wait. */
    private int prefillsNotStarted() {
        long now = nanoTicker.getAsLong();
        while (!prefillStarts.isEmpty() && prefillStarts.peekFirst() - now <= 0) {
            prefillStarts.pollFirst();
        }
        return prefillStarts.size();
    }

    public synchronized Snapshot snapshot() {
        List<String> waitingAdapters = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Sequence s : waiting) {
            if (s.adapter != null && seen.add(s.adapter)) {
                waitingAdapters.add(s.adapter);
            }
        }
        int notStarted = Math.min(running, prefillsNotStarted());
        return new Snapshot(running - notStarted, waiting.size() + notStarted,
                (double) cache.usedBlocks() / cache.totalBlocks(),
                cache.residentBlocks(), runningPerAdapter.keySet().stream().sorted().toList(), waitingAdapters,
                promptTokens, generationTokens, prefixQueries, prefixHits, finishedStop, finishedLength,
                finishedAbort, 0);
    }

    /** Empties the prefix cache of unreferenced blocks. */
    public synchronized void resetPrefixCache() {
        cache.clearUnreferenced();
    }

    public SimConfig config() {
        return config;
    }
}
