package io.epp4j.bench.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.SplittableRandom;

/**
 * A simulated vLLM V1 engine, one step at a time ({@link EngineModel#STEP}).
 *
 * <p>Each step serves the running requests first, in the order they were admitted: a decoding request gets one
 * token, one still prefilling gets the rest of its prompt up to what is left of the step's token budget
 * ({@code max_num_batched_tokens}; chunked prefill). Then, if no request had to be preempted, waiting requests are
 * admitted in arrival order while the budget lasts and fewer than {@code max_num_seqs} run; a waiting request whose
 * adapter cannot get one of {@code max_loras} slots is passed over (later ones may go first), and admission stops
 * at the first request whose KV blocks do not fit. A request admitted from the waiting queue starts at its longest
 * cached prefix (never the whole prompt: at least one token is computed). KV blocks are taken as tokens are
 * computed, so a prompt's blocks become cache hits for others step by step; when a running request needs a block
 * and none can be freed, the most recently admitted running request is preempted: its blocks are released (they
 * stay cached until evicted) and it goes back to the head of the waiting queue, to be recomputed.
 *
 * <p>A step lasts {@link StepProfile#stepMs} for what it batched (times a slow factor, and with jitter a random
 * factor of at least 1); a request's token is sampled at the end of the step that computed the last of its tokens,
 * so its first token comes with the step that finishes its prompt.
 *
 * <p>Not thread-safe (see {@link EngineCore}).
 */
public final class StepEngine extends EngineBase {

    private final StepProfile profile;
    private final ArrayList<Seq> running = new ArrayList<>();
    /** Adapters loaded on the GPU, least recently used first (at most {@code max_loras}). */
    private final LinkedHashSet<String> residentAdapters = new LinkedHashSet<>();

    /** The step in flight: its requests, their new tokens, its end. */
    private final ArrayList<Seq> stepSeqs = new ArrayList<>();
    private int[] stepTokens = new int[64];
    private long stepEndNanos = Long.MAX_VALUE;
    /** When the step in flight began, and how long the last completed step took (what streamed chunks show). */
    private long stepStartNanos;
    private long lastStepNanos;
    /** When the idle engine plans its next step (requests arrived), {@link Long#MAX_VALUE} when none is due. */
    private long planAtNanos = Long.MAX_VALUE;

    private long preemptions;

    public StepEngine(SimConfig config) {
        this(config, new PrefixCache(config.kvBlocks()), randomFor(config));
    }

    private StepEngine(SimConfig config, KvCache cache, SplittableRandom random) {
        super(config, cache, random);
        this.profile = config.step();
    }

    @Override
    public Seq submit(String adapter, String prompt, int outputTokens, Object tag, long nowNanos)
            throws RejectedException {
        Seq s = enqueue(adapter, prompt, outputTokens, tag, nowNanos);
        wake(nowNanos);
        return s;
    }

    @Override
    public Seq submitPrefilled(String adapter, String prompt, int outputTokens, Object tag, long nowNanos)
            throws RejectedException {
        Seq s = enqueue(adapter, prompt, outputTokens, tag, nowNanos);
        s.remotePrefilled = true;
        wake(nowNanos);
        return s;
    }

    @Override
    public void abort(Seq s, long nowNanos, Events events) {
        if (s.finished) {
            return;
        }
        if (s.running) {
            running.remove(s);
            release(s);
        } else {
            waiting.remove(s);
        }
        s.aborted = true;
        finish(s, nowNanos, events);
        wake(nowNanos);
    }

    /**
     * An idle engine with work plans its next step when the driver next advances it, not at once, so that requests
     * arriving at the same instant share that step.
     */
    private void wake(long nowNanos) {
        if (stepEndNanos == Long.MAX_VALUE && planAtNanos == Long.MAX_VALUE && !waiting.isEmpty()) {
            planAtNanos = nowNanos;
        }
    }

    @Override
    public long nextEventNanos() {
        return Math.min(stepEndNanos, planAtNanos);
    }

    @Override
    public void advance(long nowNanos, Events events) {
        if (planAtNanos <= nowNanos) {
            long at = planAtNanos;
            planAtNanos = Long.MAX_VALUE;
            plan(at);
        }
        while (stepEndNanos <= nowNanos) {
            long end = stepEndNanos;
            completeStep(end, events);
            events.stepEnded(end);
            plan(end);
        }
    }

    private void completeStep(long t, Events events) {
        for (int k = 0; k < stepSeqs.size(); k++) {
            Seq s = stepSeqs.get(k);
            if (s.finished || !s.running) {
                continue; // aborted during the step
            }
            s.computed += stepTokens[k];
            cacheComputedBlocks(s);
            if (s.computed < s.numTokens()) {
                continue; // a prompt chunk: no token yet
            }
            s.generated++;
            generationTokens++;
            if (s.generated == 1) {
                s.firstTokenNanos = t;
                promptTokens += s.promptTokens;
                events.firstToken(s, t);
            } else {
                events.token(s, t);
            }
            if (s.generated >= s.maxTokens) {
                running.remove(s);
                release(s);
                finish(s, t, events);
            }
        }
        stepSeqs.clear();
        stepEndNanos = Long.MAX_VALUE;
        lastStepNanos = t - stepStartNanos;
    }

    /** Schedules the next step at {@code t}; with nothing to run the engine goes idle. */
    private void plan(long t) {
        int budget = profile.maxNumBatchedTokens();
        long batched = 0;
        long decodeContext = 0;
        double prefillPairs = 0;
        int loraLoads = 0;
        boolean preempted = false;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Seq s = running.get(i);
            int n = Math.min(s.numTokens() - s.computed, budget);
            boolean scheduled = true;
            while (!grow(s, n)) {
                Seq victim = running.remove(running.size() - 1);
                preempt(victim);
                preempted = true;
                if (victim == s) {
                    scheduled = false;
                    break;
                }
            }
            if (!scheduled) {
                break;
            }
            addToStep(s, n);
            budget -= n;
            batched += n;
            if (n == 1 && s.generated > 0 && s.computed + 1 == s.numTokens()) {
                decodeContext += s.computed + 1;
            } else {
                prefillPairs += n * (s.computed + n / 2.0);
            }
        }
        ArrayDeque<Seq> passed = null;
        while (!preempted && !waiting.isEmpty() && running.size() < config.maxNumSeqs() && budget > 0) {
            Seq s = waiting.peekFirst();
            if (s.adapter != null && !runningPerAdapter.containsKey(s.adapter)
                    && runningPerAdapter.size() >= config.maxLoras()) {
                if (passed == null) {
                    passed = new ArrayDeque<>();
                }
                passed.addLast(waiting.pollFirst());
                continue;
            }
            int hitBlocks = cache.cachedPrefix(s.hashes);
            if (hitBlocks * config.blockSize() >= s.numTokens()) {
                hitBlocks = (s.numTokens() - 1) / config.blockSize(); // the last token is always computed
            }
            int hitTokens = hitBlocks * config.blockSize();
            // P/D: the rest of the prompt's KV was pulled from the prefill pod (blocks taken below, by grow)
            int start = s.remotePrefilled && s.generated == 0 ? Math.max(hitTokens, s.numTokens() - 1) : hitTokens;
            int n = Math.min(s.numTokens() - start, budget);
            cache.pin(s.hashes, hitBlocks);
            s.pinnedBlocks = hitBlocks;
            s.computed = start;
            if (!grow(s, n)) {
                cache.release(s.hashes, hitBlocks, 0);
                s.pinnedBlocks = 0;
                s.computed = 0;
                break;
            }
            waiting.pollFirst();
            running.add(s);
            s.running = true;
            s.runningAtAdmission = running.size();
            if (s.cachedTokens < 0) {
                s.cachedTokens = Math.min(hitTokens, s.promptTokens);
                s.scheduledNanos = t;
            }
            prefixQueries += s.numTokens();
            prefixHits += hitTokens;
            if (s.adapter != null) {
                runningPerAdapter.merge(s.adapter, 1, Integer::sum);
                if (loadAdapter(s.adapter)) {
                    loraLoads++;
                }
            }
            addToStep(s, n);
            budget -= n;
            batched += n;
            prefillPairs += n * (s.computed + n / 2.0);
        }
        if (passed != null) {
            while (!passed.isEmpty()) {
                waiting.addFirst(passed.pollLast());
            }
        }
        if (stepSeqs.isEmpty()) {
            stepEndNanos = Long.MAX_VALUE;
            return;
        }
        double ms = profile.stepMs(batched, decodeContext, prefillPairs, loraLoads) * slow * jitter();
        stepStartNanos = t;
        stepEndNanos = t + Math.max(1, Math.round(ms * 1e6));
    }

    private double jitter() {
        if (random == null) {
            return 1.0;
        }
        // interference only ever slows a step down, so the lower bound stays a bound
        return 1.0 + Math.min(3.0, Math.abs(gaussian(random))) * config.jitter();
    }

    /** Whether loading {@code adapter} costs time in this step (it was not resident). */
    private boolean loadAdapter(String adapter) {
        if (residentAdapters.remove(adapter)) {
            residentAdapters.add(adapter); // most recently used
            return false;
        }
        if (residentAdapters.size() >= Math.max(1, config.maxLoras())) {
            for (var it = residentAdapters.iterator(); it.hasNext(); ) {
                if (!runningPerAdapter.containsKey(it.next())) {
                    it.remove();
                    break;
                }
            }
        }
        residentAdapters.add(adapter);
        return true;
    }

    private void addToStep(Seq s, int n) {
        if (stepSeqs.size() == stepTokens.length) {
            stepTokens = java.util.Arrays.copyOf(stepTokens, stepTokens.length * 2);
        }
        stepTokens[stepSeqs.size()] = n;
        stepSeqs.add(s);
    }

    /**
     * Takes the blocks {@code s} needs to compute {@code n} more tokens; false (nothing taken) if they don't fit.
     * New blocks are the request's own until their tokens are computed ({@link #cacheComputedBlocks}).
     */
    private boolean grow(Seq s, int n) {
        int need = ceilDiv(s.computed + n, config.blockSize());
        int have = s.pinnedBlocks + s.anonymousBlocks;
        if (need <= have) {
            return true;
        }
        if (!cache.reserve(need - have)) {
            return false;
        }
        cache.addAnonymous(need - have);
        s.anonymousBlocks += need - have;
        return true;
    }

    /**
     * Prompt blocks whose every token is computed join the prefix cache (another request can hit them from the
     * next step on); a block someone else computed meanwhile is shared and this request's copy freed.
     */
    private void cacheComputedBlocks(Seq s) {
        int full = Math.min(s.hashes.length, s.computed / config.blockSize());
        while (s.pinnedBlocks < full && s.anonymousBlocks > 0) {
            cache.addAnonymous(-1);
            s.anonymousBlocks--;
            cache.store(s, s.pinnedBlocks);
            s.pinnedBlocks++;
        }
    }

    private void preempt(Seq v) {
        release(v);
        v.computed = 0;
        v.running = false;
        v.preemptions++;
        preemptions++;
        waiting.addFirst(v);
    }

    private void release(Seq s) {
        releaseBlocksAndAdapter(s, s.running);
    }

    @Override
    public Snapshot snapshot(long nowNanos) {
        return snapshot(running.size(), waiting.size(), preemptions);
    }

    @Override
    public long firstTokenLowerBound(String adapter, String prompt, long nowNanos) {
        int tokens = EngineCore.promptTokens(prompt);
        int cached = Math.min(cache.cachedPrefix(hashes(adapter, prompt)), (tokens - 1) / config.blockSize()) * config.blockSize();
        long start = stepEndNanos == Long.MAX_VALUE ? nowNanos : Math.max(nowNanos, stepEndNanos);
        return start + (long) (profile.idlePrefillMs(cached, tokens - cached) * slow * 1e6);
    }

    @Override
    public long whatIfFirstToken(String adapter, String prompt, int outputTokens, long nowNanos,
                                 long giveUpAtNanos) {
        return whatIfFirstToken(adapter, prompt, outputTokens, nowNanos, giveUpAtNanos, StepKnowledge.EXACT);
    }

    @Override
    public long whatIfFirstToken(String adapter, String prompt, int outputTokens, long nowNanos,
                                 long giveUpAtNanos, StepKnowledge knowledge) {
        if (realCache == null) {
            throw new IllegalStateException("a what-if copy has no what-if");
        }
        StepEngine copy = new StepEngine(config, new KvCache.Overlay(realCache), null);
        copyStateInto(copy);
        copy.residentAdapters.addAll(residentAdapters);
        for (Seq s : running) {
            copy.running.add(s.whatIfCopy = s.copy());
        }
        for (Seq s : waiting) {
            copy.waiting.add(s.whatIfCopy = s.copy());
        }
        for (int k = 0; k < stepSeqs.size(); k++) {
            Seq s = stepSeqs.get(k);
            copy.addToStep(s.whatIfCopy != null ? s.whatIfCopy : s.copy(), stepTokens[k]);
        }
        for (Seq s : running) {
            s.whatIfCopy = null;
        }
        for (Seq s : waiting) {
            s.whatIfCopy = null;
        }
        copy.stepEndNanos = stepEndNanos == Long.MAX_VALUE ? stepEndNanos : switch (knowledge) {
            case EXACT -> stepEndNanos;
            // phase unknown: the step in flight is as likely to end at any moment of its length
            case NONE -> nowNanos + (stepEndNanos - stepStartNanos) / 2;
            // its start is known (the previous step's tokens streamed out then), its length taken as the last one's
            case LAST_STEP -> Math.max(nowNanos + 1, stepStartNanos + lastStepNanos);
        };
        copy.planAtNanos = planAtNanos;
        Seq mine;
        try {
            mine = copy.submit(adapter, prompt, outputTokens, null, nowNanos);
        } catch (RejectedException e) {
            return Long.MAX_VALUE;
        }
        return runUntilFirstToken(copy, mine, giveUpAtNanos);
    }
}
