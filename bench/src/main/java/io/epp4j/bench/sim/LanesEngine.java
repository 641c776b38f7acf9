package io.epp4j.bench.sim;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Iterator;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The earlier engine model ({@link EngineModel#LANES}), kept for comparison: {@code max-num-seqs} running slots
 * and a bounded FIFO waiting queue; a request is admitted in arrival order when a slot is free, its adapter can
 * get one of {@code max-loras} slots (others may pass it) and its whole prompt and output fit in the KV cache
 * (reserved up front, so nothing is ever preempted). Each server prefills one prompt at a time in admission order
 * (one FIFO lane): {@code prefill-overhead + uncached prompt tokens × prefill cost}; the first token comes when its
 * prefill ends, then one token per inter-token latency, which grows linearly with the running requests up to
 * {@code load-factor} at a full batch. Prefill never slows decoding. Durations get a random factor of
 * {@code 1 ± 3 × jitter} at most when jitter is set.
 *
 * <p>Not thread-safe (see {@link EngineCore}).
 */
public final class LanesEngine extends EngineBase {

    private static final Comparator<Seq> BY_NEXT_EVENT = Comparator.<Seq>comparingLong(s -> s.nextEventNanos)
            .thenComparingLong(s -> s.id);

    private final PriorityQueue<Seq> events = new PriorityQueue<>(BY_NEXT_EVENT);
    /** Start times of reserved prefills, in order (the lane is FIFO, so they only grow). */
    private final ArrayDeque<Long> prefillStarts = new ArrayDeque<>();
    private int running;
    private long laneFreeNanos = Long.MIN_VALUE;


    public LanesEngine(SimConfig config) {
        this(config, new PrefixCache(config.kvBlocks()), randomFor(config));
    }

    private LanesEngine(SimConfig config, KvCache cache, SplittableRandom random) {
        super(config, cache, random);
    }

    @Override
    public Seq submit(String adapter, String prompt, int outputTokens, Object tag, long nowNanos)
            throws RejectedException {
        Seq s = enqueue(adapter, prompt, outputTokens, tag, nowNanos);
        admit(nowNanos);
        return s;
    }

    private void admit(long now) {
        Iterator<Seq> it = waiting.iterator();
        while (it.hasNext() && running < config.maxNumSeqs()) {
            Seq s = it.next();
            if (s.adapter != null && !runningPerAdapter.containsKey(s.adapter)
                    && runningPerAdapter.size() >= config.maxLoras()) {
                continue;
            }
            int total = ceilDiv(s.promptTokens + s.maxTokens, config.blockSize());
            int extra = Math.max(0, total - s.hashes.length);
            int hits = cache.cachedPrefix(s.hashes);
            cache.pin(s.hashes, hits);
            if (!cache.reserve(s.hashes.length - hits + extra)) {
                cache.release(s.hashes, hits, 0);
                break;
            }
            for (int i = hits; i < s.hashes.length; i++) {
                cache.store(s, i);
            }
            cache.addAnonymous(extra);
            s.pinnedBlocks = s.hashes.length;
            s.anonymousBlocks = extra;
            it.remove();
            running++;
            s.running = true;
            s.runningAtAdmission = running;
            if (s.adapter != null) {
                runningPerAdapter.merge(s.adapter, 1, Integer::sum);
            }
            int cached = Math.min(s.promptTokens, hits * config.blockSize());
            s.cachedTokens = cached;
            s.scheduledNanos = now;
            prefixQueries += s.promptTokens;
            prefixHits += (long) hits * config.blockSize();
            promptTokens += s.promptTokens;
            double prefillMs = jitter(config.prefillOverheadMs() + (s.promptTokens - cached)
                    * config.prefillPerTokenMs()) * slow;
            long start = laneFreeNanos == Long.MIN_VALUE || laneFreeNanos < now ? now : laneFreeNanos;
            laneFreeNanos = start + Math.max(1, Math.round(prefillMs * 1e6));
            prefillStarts.addLast(start);
            s.nextEventNanos = laneFreeNanos;
            events.add(s);
        }
    }

    /** The slowdown at {@code runningNow} requests: 1 alone, {@code loadFactor} with every slot busy. */
    double loadMultiplier(int runningNow) {
        if (config.maxNumSeqs() <= 1) {
            return config.loadFactor();
        }
        double f = (double) (Math.max(1, runningNow) - 1) / (config.maxNumSeqs() - 1);
        return 1.0 + (config.loadFactor() - 1.0) * Math.min(1.0, f);
    }

    private double jitter(double ms) {
        if (random == null) {
            return ms;
        }
        double g = Math.max(-3.0, Math.min(3.0, gaussian(random)));
        return ms * Math.max(0.05, 1 + g * config.jitter());
    }

    @Override
    public void abort(Seq s, long nowNanos, Events sink) {
        if (s.finished) {
            return;
        }
        if (s.running) {
            events.remove(s);
            release(s);
            admit(nowNanos);
        } else {
            waiting.remove(s);
        }
        s.aborted = true;
        finish(s, nowNanos, sink);
    }

    private void release(Seq s) {
        releaseBlocksAndAdapter(s, true);
        running--;
    }

    @Override
    public long nextEventNanos() {
        Seq next = events.peek();
        return next == null ? Long.MAX_VALUE : next.nextEventNanos;
    }

    @Override
    public void advance(long nowNanos, Events sink) {
        while (!events.isEmpty() && events.peek().nextEventNanos <= nowNanos) {
            Seq s = events.poll();
            long t = s.nextEventNanos;
            s.generated++;
            generationTokens++;
            if (s.generated == 1) {
                s.firstTokenNanos = t;
                s.computed = s.promptTokens;
                sink.firstToken(s, t);
            } else {
                sink.token(s, t);
            }
            if (s.generated >= s.maxTokens) {
                release(s);
                finish(s, t, sink);
                admit(t);
            } else {
                double itl = jitter(config.interTokenMs() * loadMultiplier(running)) * slow;
                s.nextEventNanos = t + Math.max(1, Math.round(itl * 1e6));
                events.add(s);
            }
        }
    }

    @Override
    public Snapshot snapshot(long nowNanos) {
        while (!prefillStarts.isEmpty() && prefillStarts.peekFirst() <= nowNanos) {
            prefillStarts.pollFirst();
        }
        int notStarted = Math.min(running, prefillStarts.size());
        // admitted requests whose prefill has not started are still waiting as far as vLLM would report
        return snapshot(running - notStarted, waiting.size() + notStarted, 0);
    }

    @Override
    public long firstTokenLowerBound(String adapter, String prompt, long nowNanos) {
        int tokens = EngineCore.promptTokens(prompt);
        int cached = Math.min(tokens, cache.cachedPrefix(hashes(adapter, prompt)) * config.blockSize());
        long laneFree = laneFreeNanos == Long.MIN_VALUE ? nowNanos : Math.max(nowNanos, laneFreeNanos);
        double floor = config.jitter() > 0 ? Math.max(0.05, 1 - 3 * config.jitter()) : 1.0;
        return laneFree + (long) ((config.prefillOverheadMs() + (tokens - cached) * config.prefillPerTokenMs())
                * floor * slow * 1e6);
    }

    @Override
    public long whatIfFirstToken(String adapter, String prompt, int outputTokens, long nowNanos,
                                 long giveUpAtNanos) {
        if (realCache == null) {
            throw new IllegalStateException("a what-if copy has no what-if");
        }
        LanesEngine copy = new LanesEngine(config, new KvCache.Overlay(realCache), null);
        copyStateInto(copy);
        copy.running = running;
        copy.laneFreeNanos = laneFreeNanos;
        for (Seq s : events) {
            copy.events.add(s.copy());
        }
        for (Seq s : waiting) {
            copy.waiting.add(s.copy());
        }
        Seq mine;
        try {
            mine = copy.submit(adapter, prompt, outputTokens, null, nowNanos);
        } catch (RejectedException e) {
            return Long.MAX_VALUE;
        }
        while (mine.firstTokenNanos < 0 && !mine.running) {
            long next = copy.nextEventNanos();
            if (next == Long.MAX_VALUE || next > giveUpAtNanos) {
                return Long.MAX_VALUE;
            }
            copy.advance(next, Events.NONE);
        }
        if (mine.firstTokenNanos >= 0) {
            return mine.firstTokenNanos;
        }
        // admitted: its first token is already scheduled
        return mine.nextEventNanos <= giveUpAtNanos ? mine.nextEventNanos : Long.MAX_VALUE;
    }
}
