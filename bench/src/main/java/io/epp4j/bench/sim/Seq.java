package io.epp4j.bench.sim;

/**
 * One request inside an {@link EngineCore}: what it asked for and how far it got. The engine changes it; drivers
 * only read it, under the driver's lock.
 */
public final class Seq {
    final long id;
    final String adapter;
    final long[] hashes;
    /** The prompt text (its blocks' token ids go out in KV-cache events). */
    final String prompt;
    final int promptTokens;
    final int maxTokens;
    final long arrivalNanos;
    final Object tag;

    /** Tokens whose KV is computed (prompt, then fed-back output). */
    int computed;
    int generated;
    /** Leading prompt blocks this request holds references on. */
    int pinnedBlocks;
    /** Blocks of this request's own (partial last prompt block, output tokens). */
    int anonymousBlocks;
    int cachedTokens = -1;
    long scheduledNanos = -1;
    long firstTokenNanos = -1;
    long finishedNanos = -1;
    int preemptions;
    boolean running;
    boolean finished;
    boolean aborted;
    /** Running requests right after this one was admitted, itself included. */
    int runningAtAdmission;
    /** It ends with finish_reason "stop" rather than "length" (the driver decides, from max_tokens). */
    boolean stopReason;
    /** The copy made of this request for the what-if run in progress (null outside one). */
    Seq whatIfCopy;
    /**
     * P/D: the prompt's KV was computed on a prefill pod and arrives with the request (vLLM's
     * {@code do_remote_prefill}); at admission every prompt token but the last counts as computed.
     */
    boolean remotePrefilled;
    /** Lanes model: when the next event of this request is due. */
    long nextEventNanos = Long.MAX_VALUE;

    Seq(long id, String adapter, long[] hashes, String prompt, int promptTokens, int maxTokens, long arrivalNanos,
        Object tag) {
        this.id = id;
        this.adapter = adapter;
        this.hashes = hashes;
        this.prompt = prompt;
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
        this.arrivalNanos = arrivalNanos;
        this.tag = tag;
    }

    /** A copy for a what-if run (the tag is not copied). */
    Seq copy() {
        Seq c = new Seq(id, adapter, hashes, prompt, promptTokens, maxTokens, arrivalNanos, null);
        c.computed = computed;
        c.generated = generated;
        c.pinnedBlocks = pinnedBlocks;
        c.anonymousBlocks = anonymousBlocks;
        c.cachedTokens = cachedTokens;
        c.scheduledNanos = scheduledNanos;
        c.firstTokenNanos = firstTokenNanos;
        c.finishedNanos = finishedNanos;
        c.preemptions = preemptions;
        c.running = running;
        c.finished = finished;
        c.aborted = aborted;
        c.runningAtAdmission = runningAtAdmission;
        c.nextEventNanos = nextEventNanos;
        c.stopReason = stopReason;
        c.remotePrefilled = remotePrefilled;
        return c;
    }

    /** Prompt plus generated tokens: the context once everything so far is computed. */
    int numTokens() {
        return promptTokens + generated;
    }

    /** Counts its end as finish_reason "stop" in the engine's metrics (default "length"). */
    public void finishesWithStop(boolean stop) {
        this.stopReason = stop;
    }

    public Object tag() {
        return tag;
    }

    public String adapter() {
        return adapter;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public int generated() {
        return generated;
    }

    /** Prompt tokens served from the prefix cache when first scheduled (0 before). */
    public int cachedTokens() {
        return Math.max(0, cachedTokens);
    }

    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** When the engine first scheduled it (its queue time ends), or -1. */
    public long scheduledNanos() {
        return scheduledNanos;
    }

    public long firstTokenNanos() {
        return firstTokenNanos;
    }

    public long finishedNanos() {
        return finishedNanos;
    }

    public int preemptions() {
        return preemptions;
    }

    public boolean aborted() {
        return aborted;
    }

    public int runningAtAdmission() {
        return runningAtAdmission;
    }
}
