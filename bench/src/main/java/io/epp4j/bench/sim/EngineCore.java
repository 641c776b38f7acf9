package io.epp4j.bench.sim;

import java.util.List;

/**
 * One simulated model-server engine in simulated time: requests go in, token events come out. Both engine models
 * implement it; a driver moves time forward, in real time ({@link SimServer}) or in simulated time
 * ({@link FleetSimulation}). Not thread-safe: the driver serializes every call.
 */
public interface EngineCore {

    /** What the engine tells its driver as time passes. */
    interface Events {
        /** {@code seq}'s first token was sampled at {@code atNanos}. */
        void firstToken(Seq seq, long atNanos);

        /** Another of {@code seq}'s tokens ({@link Seq#generated()} counts them). */
        void token(Seq seq, long atNanos);

        /** {@code seq} produced its last token (or was aborted) and left the engine. */
        void finished(Seq seq, long atNanos);

        /** An engine step ended (the step model; its KV-cache events go out as one batch, as vLLM's do). */
        default void stepEnded(long atNanos) {
        }

        Events NONE = new Events() {
            @Override
            public void firstToken(Seq seq, long atNanos) {
            }

            @Override
            public void token(Seq seq, long atNanos) {
            }

            @Override
            public void finished(Seq seq, long atNanos) {
            }
        };
    }

    /** Why a request was refused before queueing. */
    final class RejectedException extends Exception {
        private final int status;

        public RejectedException(int status, String message) {
            super(message);
            this.status = status;
        }

        /** 400 when it can never fit, 429 when the waiting queue is full. */
        public int status() {
            return status;
        }
    }

    /** Engine state as {@code /metrics} reports it. */
    record Snapshot(int running, int waiting, double kvUsage, int residentBlocks,
                    List<String> runningAdapters, List<String> waitingAdapters,
                    long promptTokens, long generationTokens, long prefixQueries, long prefixHits,
                    long finishedStop, long finishedLength, long finishedAbort, long preemptions) {
    }

    /**
     * Queues a request at {@code nowNanos}.
     *
     * @param adapter the LoRA adapter, or null for the base model
     * @param tag the driver's own object for this request, handed back in events
     */
    Seq submit(String adapter, String prompt, int outputTokens, Object tag, long nowNanos) throws RejectedException;

    /**
     * P/D's decode leg: queues a request whose prompt KV a prefill pod computed and this engine pulls on admission
     * (vLLM NixlConnector's {@code do_remote_prefill}); it computes only the prompt's last token itself. Blocks
     * for the whole prompt are taken at admission, and the prompt joins this engine's prefix cache as usual.
     *
     * @throws UnsupportedOperationException on an engine model that does not model steps (lanes)
     */
    default Seq submitPrefilled(String adapter, String prompt, int outputTokens, Object tag, long nowNanos)
            throws RejectedException {
        throw new UnsupportedOperationException("P/D disaggregation needs the step engine model (--engine-model step)");
    }

    /** Prompt tokens of {@code prompt} this engine holds in its prefix cache now (whole blocks). */
    int cachedPromptTokens(String adapter, String prompt);

    /** Takes {@code seq} out of the engine (the client went away); it gets a {@code finished} event. */
    void abort(Seq seq, long nowNanos, Events events);

    /** When the next event is due, {@link Long#MAX_VALUE} when nothing is running or waiting. */
    long nextEventNanos();

    /** Processes every event due at or before {@code nowNanos}, in order. */
    void advance(long nowNanos, Events events);

    Snapshot snapshot(long nowNanos);

    /** vLLM's {@code reset_prefix_cache}: drops every cached block no running request holds. */
    void resetPrefixCache();

    /** Multiplies every duration from now on (a slow pod, a straggler); 1 = normal. */
    void setSlowFactor(double factor);

    SimConfig config();

    /**
     * The first-token time a new request would get here, if nothing else arrived: the engine's state is copied
     * (its KV cache as a copy-on-write view) and run forward. Used by the greedy reference.
     *
     * @param giveUpAtNanos stop and answer {@link Long#MAX_VALUE} once simulated time passes this
     * @return the absolute simulated time of the first token, or {@link Long#MAX_VALUE}
     */
    long whatIfFirstToken(String adapter, String prompt, int outputTokens, long nowNanos, long giveUpAtNanos);

    /** What a what-if run knows of the end of the engine step in flight. */
    enum StepKnowledge {
        /** Its exact end (the greedy reference). */
        EXACT,
        /** Only its length: it ends half its length from now, the mean over a phase nobody knows. */
        NONE,
        /** When it began (the previous step's tokens streamed out then) and the previous step's length. */
        LAST_STEP
    }

    /**
     * {@link #whatIfFirstToken} with the step in flight ending where {@code knowledge} puts it; engines without
     * steps ignore it.
     */
    default long whatIfFirstToken(String adapter, String prompt, int outputTokens, long nowNanos,
                                  long giveUpAtNanos, StepKnowledge knowledge) {
        return whatIfFirstToken(adapter, prompt, outputTokens, nowNanos, giveUpAtNanos);
    }

    /**
     * A time before which a new request could not get its first token here (it cannot start before the step in
     * flight ends, nor prefill faster than on an idle engine); cheap, for pruning what-if runs.
     */
    long firstTokenLowerBound(String adapter, String prompt, long nowNanos);

    /** Prompt tokens of {@code prompt} (the simulator approximates 4 characters per token). */
    static int promptTokens(String prompt) {
        return Math.max(1, (prompt.length() + SimConfig.CHARS_PER_TOKEN - 1) / SimConfig.CHARS_PER_TOKEN);
    }

    /** The engine that {@code config.engineModel()} names. */
    static EngineCore create(SimConfig config) {
        return config.engineModel() == EngineModel.STEP ? new StepEngine(config) : new LanesEngine(config);
    }
}
