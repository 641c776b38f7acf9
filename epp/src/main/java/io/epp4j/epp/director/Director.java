package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.epp.flowcontrol.FlowRequest;
import io.epp4j.epp.flowcontrol.Outcome;
import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.tracing.RequestTrace;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * Decides each request in one call, {@link #decide}: the model it is served as, its priority, the candidate
 * endpoints, admission, scheduling, an in-flight slot on the pick and the pre-request hooks. It returns the request's
 * {@link Exchange}, through which the response side and completion go. Plain Java objects in, a handle out: no
 * gRPC, so a simulator can drive it directly (clock and ticker are injected). Thread-safe; one per server.
 */
public final class Director {

    private static final Logger LOG = LoggerFactory.getLogger(Director.class);

    /** Request headers the director reads (the gateway-facing names GAIE defines). */
    public static final String OBJECTIVE = "x-gateway-inference-objective";
    public static final String FAIRNESS_ID = "x-gateway-inference-fairness-id";
    public static final String MODEL_REWRITE = "x-gateway-model-name-rewrite";
    public static final String REQUEST_ID = "x-request-id";
    /** The request's TTFT objective in milliseconds, read by {@code slo-deadline-ordering-policy}. */
    public static final String SLO_TTFT_MS = "x-slo-ttft-ms";
    /** llm-d-router's names for the same headers; where a request carries both, llm-d's wins, as in llm-d. */
    public static final String LLMD_OBJECTIVE = "x-llm-d-inference-objective";
    public static final String LLMD_FAIRNESS_ID = "x-llm-d-inference-fairness-id";
    public static final String LLMD_MODEL_REWRITE = "x-llm-d-model-name-rewrite";
    public static final String LLMD_SLO_TTFT_MS = "x-llm-d-slo-ttft-ms";
    /** The flow of a request without {@code x-gateway-inference-fairness-id}. */
    public static final String DEFAULT_FAIRNESS_ID = "default-flow";

    static final String NO_CANDIDATES = "failed to find endpoint candidates for serving the request";
    static final String NO_PODS = "no pods available in datastore";

    private final EndpointStore store;
    private final RequestScheduler scheduler;
    private final Requests requests;
    private final Candidates candidates;
    private final RandomScheduler anyPicker;
    private final EppMetrics metrics;
    private final LongSupplier ticker;
    private final FlowController flow;
    private final Clock clock;
    private final RequestLog requestLog;

    private Director(Builder b) {
        this.store = b.store;
        this.scheduler = b.scheduler;
        this.requests = new Requests(b.objectives, b.modelRewriter, b.metrics);
        this.candidates = new Candidates(b.store, b.ignoreSubsetHint, b.maxEndpointInFlight, b.metrics);
        this.anyPicker = b.anyPicker;
        this.metrics = b.metrics;
        this.ticker = b.ticker;
        this.flow = b.flow;
        this.clock = b.clock;
        this.requestLog = b.requestLog;
    }

    /** A director over {@code store}'s endpoints, picking with {@code scheduler}; the rest takes its defaults. */
    public static Builder builder(EndpointStore store, RequestScheduler scheduler) {
        return new Builder(store, scheduler);
    }

    /**
     * Decides one request whose body was parsed: the target model (the {@code x-gateway-model-name-rewrite} header,
     * else the InferenceModelRewrite rules, else the model asked for), the priority of its InferenceObjective, the
     * candidates (the pool, narrowed by the subset hint), admission, scheduling, an in-flight slot on the primary
     * target, then the pre-request hooks.
     *
     * <p>It completes before returning, so it is for directors without a flow controller; with one, a request may
     * wait in a queue: call {@link #admit} and, once the admission is ready, {@link #decide(Admission)}.
     *
     * @throws InferenceError with the status the gateway must answer: 503 no candidate, 429 shed or nothing left
     *     after filtering, 500 the scheduler failed
     */
    public Exchange decide(ParsedRequest body, Arrival arrival) throws InferenceError {
        return decide(admit(body, arrival, -1, RequestTrace.NONE));
    }

    /**
     * The first half of {@link #decide(ParsedRequest, Arrival)}: the request as it will be scheduled and, with flow
     * control on, its admission to a flow-control queue (GAIE's flow key: fairness id and priority; its size: the
     * body's length). The result is ready at once, or waits in a queue without holding the caller's thread.
     * {@code parseNanos} (-1 when unknown) and {@code trace} go into the request's stage timings.
     *
     * @throws InferenceError 429 when flow control rejects the request at once (a queue at capacity)
     */
    public Admission admit(ParsedRequest body, Arrival arrival, long parseNanos, RequestTrace trace)
            throws InferenceError {
        InferenceRequest request = requests.of(body, arrival);
        DecisionTiming timing = new DecisionTiming(parseNanos, ticker.getAsLong(), clock.millis(), trace, ticker);
        if (flow == null || !flow.enabled()) {
            return new Admission(request, arrival, null, timing);
        }
        FlowController.Ticket ticket = flow.enqueue(new FlowRequest(request.fairnessId(), request.priority(),
                request.bodySizeBytes(), request.model(), request.targetModel(),
                Requests.sloMillis(arrival)));
        Outcome outcome = ticket.outcome();
        if (outcome != null && outcome != Outcome.DISPATCHED) {
            throw failed(request, arrival, timing, InferenceError.of(outcome));
        }
        return new Admission(request, arrival, ticket, timing);
    }

    /**
     * The second half: decides a request {@link #admit} let through (flow control's outcome is {@code Dispatched}),
     * or throws the error its outcome is answered with.
     *
     * @throws InferenceError 503 no candidate, or evicted from the queue (TTL, client gone); 429 shed or nothing
     *     left after filtering; 500 the scheduler failed
     */
    public Exchange decide(Admission admission) throws InferenceError {
        InferenceRequest request = admission.request;
        try {
            FlowController.Ticket ticket = admission.ticket;
            if (ticket != null) {
                Outcome outcome = ticket.outcome();
                if (outcome == null) {
                    throw new IllegalStateException("request " + request.requestId() + " is still queued");
                }
                if (outcome != Outcome.DISPATCHED) {
                    throw InferenceError.of(outcome);
                }
            }
            return decide(request, admission.arrival, admission.timing, ticket == null);
        } catch (InferenceError e) {
            throw failed(request, admission.arrival, admission.timing, e);
        } finally {
            if (admission.ticket != null) {
                admission.ticket.settled();
            }
        }
    }

    /** The error a failed request is answered with, its trace ended and the request recorded. */
    private InferenceError failed(InferenceRequest request, Arrival arrival, DecisionTiming timing,
            InferenceError e) {
        InferenceError error = e.forModels(request.model(), request.targetModel());
        long now = ticker.getAsLong();
        timing.trace.end(now, error.code().gaieName(), error.getMessage());
        if (requestLog != null) {
            requestLog.record(new RequestRecord(request.requestId(), timing.startMillis, request.model(),
                    request.targetModel(), timing.candidates, List.of(), error.code().gaieName(),
                    error.getMessage() == null ? "" : error.getMessage(), -1, -1,
                    timing.stages(-1, now - arrival.receivedNanos())));
        }
        return error;
    }

    /** @param legacyAdmission whether the scheduler's admission applies (flow control is off) */
    private Exchange decide(InferenceRequest request, Arrival arrival, DecisionTiming timing,
            boolean legacyAdmission)
            throws InferenceError {
        List<Endpoint> candidates = this.candidates.of(arrival.subsetHint());
        timing.candidates = candidates.size();
        if (candidates.isEmpty()) {
            throw new InferenceError(InferenceError.Code.SERVICE_UNAVAILABLE, NO_CANDIDATES);
        }
        candidates = this.candidates.belowInFlightLimit(candidates);
        ScheduledRequest scheduled;
        RequestTrace trace = timing.trace;
        try {
            String denial = legacyAdmission ? scheduler.admissionDenial(request, candidates) : null;
            if (denial == null) {
                denial = scheduler.admitterDenial(request, candidates);
            }
            timing.admitted = ticker.getAsLong();
            trace.stage("admission", timing.start, timing.admitted);
            if (denial != null) {
                throw new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED, denial);
            }
            try (RequestTrace.Stage s = trace.enter("scheduling")) {
                scheduled = scheduler.schedule(request, candidates);
            }
            timing.scheduled = ticker.getAsLong();
        } catch (SchedulingException e) {
            schedulingFailed(request, timing);
            throw new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED,
                    "failed to find target endpoint: " + e.getMessage());
        } catch (RuntimeException e) {
            schedulingFailed(request, timing);
            throw new InferenceError(InferenceError.Code.INTERNAL, "scheduler failed: " + e, e);
        }
        if (scheduled == null || scheduled.result() == null) {
            throw new InferenceError(InferenceError.Code.INTERNAL, "results must be greater than zero");
        }
        Endpoint primary = scheduled.result().primary();
        EndpointStore.InFlightSlot slot = store.acquire(primary.info().name(), request.estimatedPromptTokens());
        List<EndpointStore.InFlightSlot> stageSlots = stageSlots(scheduled.result(), request);
        try (RequestTrace.Stage s = trace.enter("pre_request")) {
            scheduled.preRequest();
        } catch (RuntimeException e) {
            LOG.warn("pre-request hooks failed for request {}", request.requestId(), e);
        }
        if (trace.recording()) {
            trace.attribute("epp.target_model", request.targetModel());
            trace.attribute("epp.endpoint", primary.hostPort());
        }
        timing.preRequested = ticker.getAsLong();
        Exchange exchange = new Exchange(request, scheduled, slot, stageSlots, metrics, ticker,
                arrival.receivedNanos(), requestLog, timing);
        if (metrics != null) {
            metrics.requestDispatched(request.model(), request.targetModel(), request.priority(),
                    request.bodySizeBytes());
            metrics.schedulingAttempted(true, request.targetModel(), primary.info());
            timing.observe(metrics);
        }
        return exchange;
    }

    /**
     * In-flight slots on the first pick of every profile other than the primary one (P/D: the prefill pod, an
     * encode pod), with the request's prompt tokens, as llm-d's {@code inflight-load-producer} books every
     * profile's pick. Those pods work on the request before the primary pod's first token, so the slots are
     * given back at the response's first bytes ({@link Exchange#onResponseBody}); until then load scorers and
     * the saturation detector see the prefill pod busy with it, not one scrape later.
     */
    private List<EndpointStore.InFlightSlot> stageSlots(SchedulingResult result, InferenceRequest request) {
        if (result.profileResults().size() < 2) {
            return List.of();
        }
        List<EndpointStore.InFlightSlot> slots = new ArrayList<>(result.profileResults().size() - 1);
        result.profileResults().forEach((profile, picked) -> {
            if (!profile.equals(result.primaryProfile()) && !picked.isEmpty()) {
                slots.add(store.acquire(picked.get(0).info().name(), request.estimatedPromptTokens()));
            }
        });
        return slots;
    }

    private void schedulingFailed(InferenceRequest request, DecisionTiming timing) {
        if (metrics != null && timing.admitted != 0) { // admitted, then the scheduler found nothing or failed
            metrics.schedulingAttempted(false, request.targetModel(), null);
        }
    }

    /**
     * A request without a body (GET /v1/models and the like): a uniformly random candidate, not scheduled, as GAIE
     * does; its handle observes and counts nothing.
     *
     * @throws InferenceError 500 when the pool is empty, 503 when the subset hint matches nothing
     */
    public Exchange pickAny(Arrival arrival) throws InferenceError {
        List<Endpoint> candidates = this.candidates.of(arrival.subsetHint());
        if (candidates.isEmpty()) {
            throw store.size() == 0
                    ? new InferenceError(InferenceError.Code.INTERNAL, NO_PODS)
                    : new InferenceError(InferenceError.Code.SERVICE_UNAVAILABLE, NO_CANDIDATES);
        }
        Endpoint pick = anyPicker.pick(candidates);
        InferenceRequest request = new InferenceRequest(arrival.requestId(), io.epp4j.spi.ApiType.COMPLETIONS, "",
                "", io.epp4j.spi.ByteSlice.EMPTY, "", false, 0, DEFAULT_FAIRNESS_ID, arrival.headers(), 0);
        return Exchange.unscheduled(request, new SchedulingResult("", List.of(pick)));
    }

    /** The flow controller requests wait in when flow control is on, or null when this director has none. */
    public FlowController flowController() {
        return flow;
    }

    /** Where requests are recorded as they end, or null. */
    public RequestLog requestLog() {
        return requestLog;
    }

    /** The request parsers of the configuration serving now: which one reads each request. */
    public RequestParsers parsers() {
        return scheduler.parsers();
    }

    /** Whether {@link #decide} may wait on I/O with the configuration serving now (see {@link RequestScheduler}). */
    public boolean mayBlock() {
        return scheduler.mayBlock();
    }

    /** Builds a {@link Director}; every setting has a default, named on its method. */
    public static final class Builder {
        private final EndpointStore store;
        private final RequestScheduler scheduler;
        private ObjectiveResolver objectives = ObjectiveResolver.NONE;
        private ModelRewriter modelRewriter = ModelRewriter.NONE;
        private boolean ignoreSubsetHint;
        private RandomScheduler anyPicker;
        private EppMetrics metrics;
        private LongSupplier ticker = System::nanoTime;
        private FlowController flow;
        private Clock clock = Clock.systemUTC();
        private RequestLog requestLog;
        private int maxEndpointInFlight;

        private Builder(EndpointStore store, RequestScheduler scheduler) {
            this.store = Objects.requireNonNull(store);
            this.scheduler = Objects.requireNonNull(scheduler);
        }

        /** InferenceObjective priorities (default: none, every request has priority 0). */
        public Builder objectives(ObjectiveResolver objectives) {
            this.objectives = Objects.requireNonNull(objectives);
            return this;
        }

        /** InferenceModelRewrite rules (default: none). */
        public Builder modelRewriter(ModelRewriter modelRewriter) {
            this.modelRewriter = Objects.requireNonNull(modelRewriter);
            return this;
        }

        /** Ignore the gateway's subset hint, {@code --disable-endpoint-subset-filter} (default: false). */
        public Builder ignoreSubsetHint(boolean ignore) {
            this.ignoreSubsetHint = ignore;
            return this;
        }

        /** The random source of picks for requests without a body (default: unseeded). */
        public Builder random(Random random) {
            this.anyPicker = new RandomScheduler(Objects.requireNonNull(random));
            return this;
        }

        /** Where request metrics go (default: none are recorded). */
        public Builder metrics(EppMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics);
            return this;
        }

        /**
         * The flow controller requests wait in while the serving configuration enables the {@code flowControl}
         * feature gate (default: none, requests are never queued).
         */
        public Builder flowController(FlowController flow) {
            this.flow = Objects.requireNonNull(flow);
            return this;
        }

        /** Monotonic nanoseconds for durations (default: {@link System#nanoTime}). */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker);
            return this;
        }

        /** Wall-clock time of the request records (default: the system clock, UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** Where each request is recorded as it ends, for {@code /debug/decisions} (default: nowhere). */
        public Builder requestLog(RequestLog log) {
            this.requestLog = Objects.requireNonNull(log);
            return this;
        }

        /**
         * Requests in flight from this EPP that make an endpoint leave the candidates until one ends,
         * {@code --max-endpoint-in-flight} (default 0: no limit).
         */
        public Builder maxEndpointInFlight(int max) {
            this.maxEndpointInFlight = max;
            return this;
        }

        public Director build() {
            if (anyPicker == null) {
                anyPicker = new RandomScheduler(new Random());
            }
            return new Director(this);
        }
    }
}
