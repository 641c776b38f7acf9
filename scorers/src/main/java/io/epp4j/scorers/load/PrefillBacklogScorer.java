package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.Scorer;
import io.epp4j.spi.SchedulingResult;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * {@code prefill-backlog-scorer} (epp4j): scores each endpoint by how much work the request would queue behind
 * there before its first token, counting its own prefill too, so that a cache hit on a busy endpoint is weighed
 * against a miss on an idle one in one unit (prompt tokens to prefill).
 *
 * <p>{@code cost = backlogTokens + missWeight × uncachedTokens + requestOverheadTokens × (pendingRequests + 1)
 * + decodeRequestTokens × (decodingRequests + pendingRequests)}, score {@code minCost / cost} (1.0 for the
 * cheapest endpoint). {@code backlogTokens} and {@code pendingRequests} count the requests this EPP has sent to the
 * endpoint that have not produced their first response bytes yet: they are exact and change with every pick,
 * whereas scraped queue depth is one scrape old and says nothing about how long the queued prompts are. A request
 * enters the backlog at the pick with the tokens it was expected to prefill there (the prompt minus the
 * {@code approx-prefix-cache-producer}'s match) and leaves it at its first response body chunk (the first token,
 * when streamed) or its end. {@code uncachedTokens} is the same estimate for this request on each endpoint;
 * without a producer the whole prompt counts everywhere and the score is load only. {@code decodingRequests} are
 * the endpoint's requests past their first token and not finished (this EPP's in-flight count minus its pending
 * ones). Every request in flight, pending or decoding, holds one of the engine's running slots
 * ({@code max-num-seqs}) until its last token; once they are all taken a new request waits for a whole decode to
 * end, whatever its prompt costs. Counting the pending ones too keeps back-to-back picks from piling onto the
 * endpoint that had one decode fewer.
 *
 * <p>{@code missWeight} is {@code uncachedTokenWeight}, times {@code (n + 1) / (idle + 1)} over the {@code n}
 * candidates when {@code missCostGrowsWithLoad} is set ({@code idle}: nothing of this EPP's pending there and
 * nothing waiting in the scrape). While endpoints idle, recomputing a prefix there costs only this request's
 * wait, so a hot prefix spreads before its endpoints queue; once every endpoint is busy, compute is what the pool
 * lacks and a miss delays everyone behind it (as {@code 1 / (1 - load)} does in a queue), so prefixes stay where
 * they are cached.
 *
 * <p>Other EPP replicas: with {@code scrapedLoadFloor} (default true) the endpoint's scraped waiting queue is a
 * floor for {@code pendingRequests} (the requests beyond this EPP's own count as long as this EPP's picks are on
 * average) and its scraped running requests, minus this EPP's pending ones that are not in that queue (they are
 * prefilling), a floor for {@code decodingRequests}.
 * With one replica neither floor binds except for a scrape's age; with several, each replica sees the others'
 * load one scrape late instead of not at all.
 *
 * <p>Parameters: {@code requestOverheadTokens} (default 256), the fixed cost of a request in prompt-token
 * equivalents (scheduling, the first decode step), which keeps many tiny prompts from looking free;
 * {@code uncachedTokenWeight} (default 1, at least 1), how much more a token to prefill here counts than a token
 * queued ahead. At 1 the scorer minimises this request's own wait. Above 1 it also charges a miss for what it
 * costs others, a constant where {@code missCostGrowsWithLoad} (default false) lets the load decide;
 * {@code decodeRequestTokens} (default 0: slots ignored), the cost of one request holding a running slot;
 * {@code scrapedLoadFloor} (default true). Per-endpoint state is kept by endpoint name.
 *
 * <p>{@code prefixMatchInfoProducerName} (default none), as {@code prefix-cache-scorer}'s: the match comes from the
 * {@link PrefixMatchInfo} that producer left (e.g. {@code precise-prefix-cache-producer}, whose match is what the
 * pods' KV events say they hold) instead of the approximate producer's; a request it left none for falls back to
 * the approximate match, if any.
 *
 * <p>{@code prefillProgress} (default false): count the oldest pending request on each endpoint as partly done.
 * A server prefills its queue roughly in order, so the oldest request has been prefilling since its own pick or
 * the previous one's first token, whichever came later; the scorer learns how long the pool takes to prefill n
 * tokens (a line fitted to the streamed requests' times from that start to their first response bytes, see
 * {@link PrefillRate}) and subtracts what that request has prefilled by now, at most its own tokens. Without it a
 * 100,000-token prompt counts in full until its first token, seconds after most of it was done. A line
 * underestimates long prompts on a server whose step time grows with the batch, so it is off in the recommended
 * profile.
 *
 * <p>{@code stepPhase} (default false): add the wait for the step the endpoint's engine is running now. A model
 * server takes new requests into its batch between steps, so a request sent mid-step waits for that step's end
 * first; on short prompts that wait is a large share of the first token's time. The scorer learns each
 * endpoint's step from the streamed responses passing through it (the interval between one request's consecutive
 * response chunks, a moving average, is the step; the latest chunk from any of its requests marks the last step's
 * end), and charges {@code requestOverheadTokens} (one step's cost) times the share of the step still to run: 0
 * right after a step ended or when the endpoint has nothing in flight, 1 when the step is due now or overdue (a
 * step longer than usual holds a prefill). Endpoints whose responses are not streamed are charged nothing.
 *
 * <p>{@code endpointSpeed} (default false): scale each endpoint's cost by how long it has taken to answer per
 * token of work, so that on a fleet of unequal pods (a straggler, older GPUs, a noisy neighbour) a token queued on
 * a slow pod counts for more than one on a fast pod. A request picked for an endpoint with nothing queued there
 * (none of this EPP's requests awaiting a first token, none waiting in the scrape) times the endpoint: its own
 * uncached tokens and overhead are the work, its first streamed response bytes end it. A queue's time is not
 * timed, because short prompts queued together are prefilled in one step: a busy endpoint would look faster
 * per queued token and draw more requests still. Each endpoint's nanoseconds per
 * token of work are a ratio of exponentially decayed sums over its recent requests ({@link EndpointSpeed}); an
 * endpoint with fewer than a few samples counts at the pool's rate. Only the ratio between endpoints matters:
 * scores are relative. Nothing is configured per pod; the rates follow the pods as they change. A short request's
 * first token waits for the whole step it lands in, which on a pod holding hot prefixes often carries others' long
 * prefill chunks, so such pods look slow; off in the recommended profile for that reason.
 *
 * <p>{@code stepSpeed} (default false): scale each endpoint's cost by its quickest recent engine step over the
 * quickest candidate's ({@link StepFloor}), learnt from the same streamed chunks as {@code stepPhase}. The quickest
 * steps batched least, so they say how fast the hardware is, not whose prefill shared the step. Ratios below
 * {@code 1 + stepSpeedTolerance} (default 0.25) count as 1, so that identical pods whose floors were learnt from
 * different batches are not told apart: a short prompt's pick is a near tie that such noise would tip.
 */
public final class PrefillBacklogScorer extends NamedPlugin implements Scorer, PreRequest, ResponseObserver {

    public static final String TYPE = "prefill-backlog-scorer";

    private static final CycleState.Key<Pending> PENDING = new CycleState.Key<>("prefill-backlog-pending");
    private static final CycleState.Key<long[]> LAST_CHUNK = new CycleState.Key<>("prefill-backlog-last-chunk");
    /** Weight of a new step sample in an endpoint's moving average. */
    private static final double STEP_SMOOTHING = 0.2;
    /** An endpoint whose responses went silent this long is forgotten (it is idle, gone, or not streaming). */
    private static final long CADENCE_FORGET_NANOS = 60_000_000_000L;

    private final double requestOverheadTokens;
    private final double uncachedTokenWeight;
    private final double decodeRequestTokens;
    private final boolean scrapedLoadFloor;
    private final boolean prefillProgress;
    private final boolean missCostGrowsWithLoad;
    private final boolean stepPhase;
    private final boolean endpointSpeed;
    private final boolean stepSpeed;
    private final double stepSpeedTolerance;
    /** Where the match comes from with {@code prefixMatchInfoProducerName}, else null (the approximate match). */
    private final CycleState.Key<PrefixMatchInfo> matchInfo;
    private final LongSupplier nanoTicker;
    private final PrefillRate prefillRate = new PrefillRate();
    private final EndpointSpeed speed = new EndpointSpeed();
    private final StepFloor stepFloor = new StepFloor();
    /** With {@code endpointSpeed}: the work the request would time on each candidate of its last score. */
    private static final CycleState.Key<Work> WORK = new CycleState.Key<>("prefill-backlog-work");
    /** This EPP's picks and their uncached tokens, for the size of a request another replica queued. */
    private final AtomicLong pickedRequests = new AtomicLong();
    private final AtomicLong pickedTokens = new AtomicLong();
    /** Per endpoint; changed only inside the map's compute functions, so one endpoint's changes are serial. */
    private final ConcurrentHashMap<String, Backlog> backlogs = new ConcurrentHashMap<>();

    /** Per endpoint with streamed responses: when its engine last emitted tokens, and its step. */
    private final ConcurrentHashMap<String, Cadence> cadences = new ConcurrentHashMap<>();

    /** An endpoint's step rhythm; written by its responses' streams, racing benignly (the latest write wins). */
    private static final class Cadence {
        volatile long lastChunkNanos;
        volatile double stepNanos;
    }

    /**
     * One request's share of an endpoint's backlog, released exactly once; {@code work}, the tokens whose time it
     * measures with {@code endpointSpeed} (0: it found others queued there and times nothing).
     */
    private record Pending(String endpoint, long tokens, long pickedAtNanos, double work, AtomicBoolean released) {
    }

    /** The candidates of one scoring and the work (tokens) the request would time on each. */
    private record Work(List<Endpoint> endpoints, double[] tokens) {
    }

    /**
     * What {@link #score} reads of one endpoint's backlog: pending tokens and requests, and the oldest pending
     * request (the one the server is probably prefilling) with the time its prefill probably began.
     */
    private record View(long tokens, long requests, long headTokens, long headStartNanos) {
    }

    /** One endpoint's requests between pick and first response bytes, oldest first. */
    private static final class Backlog {
        final ArrayDeque<Pending> pending = new ArrayDeque<>();
        long tokens;
        long lastHeadEndNanos = Long.MIN_VALUE;
        volatile View view;

        void publish() {
            Pending head = pending.peekFirst();
            view = head == null ? new View(tokens, 0, 0, 0) : new View(tokens, pending.size(), head.tokens(),
                    lastHeadEndNanos == Long.MIN_VALUE ? head.pickedAtNanos()
                            : Math.max(lastHeadEndNanos, head.pickedAtNanos()));
        }
    }

    /**
     * Takes {@code p} out of its endpoint's backlog (once). When it was the oldest pending request, its prefill
     * ended now and the next one's begins; with {@code answered} (first response bytes, not a failure) its
     * duration is a sample of the prefill rate.
     */
    private void release(Pending p, boolean answered) {
        if (!p.released().compareAndSet(false, true)) {
            return;
        }
        long now = nanoTicker.getAsLong();
        // an endpoint with nothing pending is dropped, so endpoints that went away leave nothing behind
        backlogs.computeIfPresent(p.endpoint(), (name, b) -> {
            if (b.pending.peekFirst() == p) {
                View before = b.view;
                if (answered && prefillProgress) {
                    prefillRate.observe(p.tokens(), now - before.headStartNanos());
                }
                b.lastHeadEndNanos = now;
            }
            b.pending.remove(p);
            b.tokens -= p.tokens();
            b.publish();
            return b.pending.isEmpty() ? null : b;
        });
        if (answered && endpointSpeed && p.work() > 0) {
            speed.observe(p.endpoint(), p.work(), now - p.pickedAtNanos(), now);
        }
    }

    public PrefillBacklogScorer(String name, PluginParameters parameters) {
        this(name, parameters, System::nanoTime);
    }

    public PrefillBacklogScorer(String name, PluginParameters parameters, LongSupplier nanoTicker) {
        super(TYPE, name);
        this.nanoTicker = nanoTicker;
        this.prefillProgress = parameters.getBoolean("prefillProgress", false);
        this.missCostGrowsWithLoad = parameters.getBoolean("missCostGrowsWithLoad", false);
        this.stepPhase = parameters.getBoolean("stepPhase", false);
        this.endpointSpeed = parameters.getBoolean("endpointSpeed", false);
        this.stepSpeed = parameters.getBoolean("stepSpeed", false);
        this.stepSpeedTolerance = parameters.getDouble("stepSpeedTolerance", 0.25);
        this.requestOverheadTokens = parameters.getDouble("requestOverheadTokens", 256);
        this.uncachedTokenWeight = parameters.getDouble("uncachedTokenWeight", 1);
        this.decodeRequestTokens = parameters.getDouble("decodeRequestTokens", 0);
        this.scrapedLoadFloor = parameters.getBoolean("scrapedLoadFloor", true);
        String producer = parameters.getString("prefixMatchInfoProducerName", "");
        this.matchInfo = producer.isEmpty() ? null : PrefixMatchInfo.keyFor(producer);
        if (!(requestOverheadTokens >= 0)) {
            throw new IllegalArgumentException("parameter 'requestOverheadTokens' must be >= 0");
        }
        if (!(uncachedTokenWeight >= 1)) {
            throw new IllegalArgumentException("parameter 'uncachedTokenWeight' must be >= 1");
        }
        if (!(decodeRequestTokens >= 0)) {
            throw new IllegalArgumentException("parameter 'decodeRequestTokens' must be >= 0");
        }
        if (!(stepSpeedTolerance >= 0)) {
            throw new IllegalArgumentException("parameter 'stepSpeedTolerance' must be >= 0");
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        Match match = match(state);
        double minCost = Double.POSITIVE_INFINITY;
        long now = prefillProgress || stepPhase || stepSpeed ? nanoTicker.getAsLong() : 0;
        PrefillRate.Fit fit = prefillProgress ? prefillRate.fit() : PrefillRate.Fit.NONE;
        long picks = pickedRequests.get();
        double meanPickTokens = picks == 0 ? request.estimatedPromptTokens() : (double) pickedTokens.get() / picks;
        double missWeight = missCostGrowsWithLoad ? uncachedTokenWeight * loadFactor(endpoints)
                : uncachedTokenWeight;
        double[] work = endpointSpeed ? new double[n] : null;
        double[] slowness = stepSpeed ? stepFloor.slowness(endpoints, now, stepSpeedTolerance) : null;
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(i);
            Backlog b = backlogs.get(e.info().name());
            View v = b == null ? null : b.view;
            double backlogTokens = v == null ? 0 : Math.max(0, v.tokens() - prefilled(v, now, fit));
            long pending = v == null ? 0 : v.requests();
            long decoding = Math.max(0, e.inFlightRequests() - pending);
            if (scrapedLoadFloor) {
                int waiting = Math.max(0, e.metrics().waitingQueueSize());
                // this EPP's pending requests the scrape does not show waiting are prefilling, which the engine
                // counts as running; the rest of the running ones decode
                long prefilling = Math.max(0, pending - waiting);
                decoding = Math.max(decoding, e.metrics().runningRequests() - prefilling);
                if (waiting > pending) {
                    backlogTokens += (waiting - pending) * meanPickTokens;
                    pending = waiting;
                }
            }
            double stepLeft = stepPhase && decoding + pending > 0 ? stepLeft(e.info().name(), now) : 0;
            double uncached = match.uncachedTokens(request, e);
            double cost = backlogTokens + missWeight * uncached
                    + requestOverheadTokens * (pending + 1 + stepLeft) + decodeRequestTokens * (decoding + pending);
            if (work != null) {
                // only a request with nothing queued ahead times the endpoint itself: short prompts queued
                // together are prefilled in one step, so a queue's time is not the sum of its requests' work
                work[i] = pending == 0 ? uncached + requestOverheadTokens : 0;
                cost *= speed.relativeNanosPerToken(e.info().name());
            }
            if (slowness != null) {
                cost *= slowness[i];
            }
            scores[i] = cost;
            minCost = Math.min(minCost, cost);
        }
        for (int i = 0; i < n; i++) {
            scores[i] = scores[i] <= 0 ? 1.0 : minCost / scores[i];
        }
        if (work != null) {
            state.put(WORK, new Work(endpoints, work));
        }
    }

    /**
     * {@code (n + 1) / (idle + 1)} over the {@code n} candidates, {@code idle} of which have nothing queued (no
     * request of this EPP awaiting its first token, none waiting in the scrape): 1 when all are idle, {@code n + 1}
     * when none is. A token to prefill is worth only the request's own wait while other pods idle, but once they are
     * all busy compute is what the pool lacks and a miss delays everyone queued behind it, as 1 / (1 - load) does in
     * a queue.
     */
    private double loadFactor(List<Endpoint> endpoints) {
        int idle = 0;
        for (Endpoint e : endpoints) {
            Backlog b = backlogs.get(e.info().name());
            View v = b == null ? null : b.view;
            if ((v == null || v.requests() == 0) && e.metrics().waitingQueueSize() <= 0) {
                idle++;
            }
        }
        return (endpoints.size() + 1.0) / (idle + 1.0);
    }

    /** The share of {@code endpoint}'s current step still to run, 0 when its rhythm is unknown. */
    private double stepLeft(String endpoint, long now) {
        Cadence c = cadences.get(endpoint);
        if (c == null) {
            return 0;
        }
        double step = c.stepNanos;
        long since = now - c.lastChunkNanos;
        if (since > CADENCE_FORGET_NANOS) {
            cadences.remove(endpoint, c);
            return 0;
        }
        if (step <= 0) {
            return 0;
        }
        return since >= step ? 1.0 : 1.0 - since / step;
    }

    /** Tokens of the oldest pending request prefilled by now, at the learnt rate (0 until it is learnt). */
    private static double prefilled(View v, long now, PrefillRate.Fit fit) {
        if (v.requests() == 0) {
            return 0;
        }
        return Math.min(v.headTokens(), fit.tokensDoneAfter(now - v.headStartNanos()));
    }

    /** The producer's match this scorer reads: the named one's info, else the approximate one's. */
    private Match match(CycleState state) {
        PrefixMatchInfo info = matchInfo == null ? null : state.get(matchInfo);
        return new Match(info, info == null ? state.get(PrefixMatch.KEY) : null);
    }

    /** One request's match, from a {@link PrefixMatchInfo} or a {@link PrefixMatch} (either or both null). */
    private record Match(PrefixMatchInfo info, PrefixMatch approximate) {

        /** The request's prompt tokens the endpoint probably does not hold: the prompt minus the matched share. */
        double uncachedTokens(InferenceRequest request, Endpoint e) {
            double prompt = request.estimatedPromptTokens();
            if (info != null && info.totalBlocks() > 0) {
                return prompt * (1.0 - Math.min(1.0, info.matchedBlocks(e) / info.totalBlocks()));
            }
            if (approximate == null || approximate.blockCount() == 0) {
                return prompt;
            }
            return prompt * (1.0 - (double) approximate.matchedBlocks(e) / approximate.blockCount());
        }
    }

    /**
     * Books the request on the endpoint that prefills it: P/D's prefill pick (the profile named {@code prefill},
     * llm-d's convention) when there is one, else the primary target. A decode pod given a prefilled request only
     * decodes it, so there it counts as a request in flight ({@code decodingRequests}), not as backlog.
     */
    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        List<Endpoint> prefill = result.profile(ApproxPrefixCacheProducer.PREFILL_PROFILE);
        Endpoint target = prefill.isEmpty() ? result.primary() : prefill.get(0);
        if (target == null || state.get(PENDING) != null) {
            return;
        }
        long tokens = Math.round(match(state).uncachedTokens(request, target));
        String name = target.info().name();
        Pending p = new Pending(name, tokens, nanoTicker.getAsLong(), workAhead(state, name), new AtomicBoolean());
        backlogs.compute(name, (k, b) -> {
            Backlog backlog = b == null ? new Backlog() : b;
            backlog.pending.addLast(p);
            backlog.tokens += tokens;
            backlog.publish();
            return backlog;
        });
        state.put(PENDING, p);
        pickedRequests.incrementAndGet();
        pickedTokens.addAndGet(tokens);
    }

    /** The work the request times on {@code endpoint} (see {@link Work}), 0 when it was not scored. */
    private static double workAhead(CycleState state, String endpoint) {
        Work w = state.get(WORK);
        if (w == null) {
            return 0;
        }
        for (int i = 0; i < w.endpoints().size(); i++) {
            if (w.endpoints().get(i).info().name().equals(endpoint)) {
                return w.tokens()[i];
            }
        }
        return 0;
    }

    @Override
    public void onResponseBody(CycleState state, InferenceRequest request, Endpoint target, ByteSlice chunk,
                               boolean endOfStream) {
        if ((stepPhase || stepSpeed) && chunk.length() > 0 && request.stream() && target != null) {
            observeChunk(state, target.info().name());
        }
        Pending p = state.get(PENDING);
        if (p != null && (chunk.length() > 0 || endOfStream)) {
            // a streamed response's first bytes are its first token; a whole one's come after the last
            release(p, chunk.length() > 0 && request.stream());
        }
    }

    /** A streamed chunk left {@code endpoint} now: a step just ended there; the gap since this request's last is one. */
    private void observeChunk(CycleState state, String endpoint) {
        long now = nanoTicker.getAsLong();
        Cadence c = cadences.computeIfAbsent(endpoint, k -> new Cadence());
        long[] last = state.get(LAST_CHUNK);
        if (last == null) {
            state.put(LAST_CHUNK, new long[] {now});
        } else {
            long gap = now - last[0];
            last[0] = now;
            if (gap > 0 && stepSpeed) {
                stepFloor.observe(endpoint, gap, now);
            }
            if (gap > 0) {
                double step = c.stepNanos;
                c.stepNanos = step <= 0 ? gap : step + STEP_SMOOTHING * (gap - step);
            }
        }
        if (now > c.lastChunkNanos) {
            c.lastChunkNanos = now;
        }
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        Pending p = state.get(PENDING);
        if (p != null) {
            release(p, false);
        }
    }

    /** Endpoints with requests pending (for tests and diagnostics). */
    public int trackedEndpoints() {
        return backlogs.size();
    }

    /** Prompt tokens sent to {@code endpoint} and not yet answered (for tests and diagnostics). */
    public long backlogTokens(String endpoint) {
        Backlog b = backlogs.get(endpoint);
        View v = b == null ? null : b.view;
        return v == null ? 0 : v.tokens();
    }
}
