package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.request.ModelNames;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.tracing.RequestTrace;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.UpstreamHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * One decided request, from its pick to its end: the handle {@link Director#decide} returns (like
 * concurrency-limits' {@code Limiter.acquire} returning a listener). It carries the request as scheduled, the
 * pick, the rewrite back to the client's model name, the in-flight slot and the scheduler's per-request hooks, so
 * the response side and completion need nothing else and nobody keeps a table of open requests.
 *
 * <p>The response methods are called in the response's order from one thread at a time (the request's stream);
 * {@link #complete} may come from any thread and takes effect once.
 */
public final class Exchange {

    private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

    private final InferenceRequest request;
    private final ScheduledRequest scheduled;
    private final EndpointStore.InFlightSlot slot;
    /** Slots on the pods of the stages before the primary one (P/D's prefill pod), given back at the first bytes. */
    private final List<EndpointStore.InFlightSlot> stageSlots;
    private final EppMetrics metrics;
    private final LongSupplier ticker;
    private final long receivedNanos;
    private final ModelNames.ResponseRewrite rewriteBack;
    private final RequestLog log;
    private final DecisionTiming timing;
    private final AtomicBoolean completed = new AtomicBoolean();
    private long responseHeadersNanos = -1;
    private long firstBodyNanos;
    private long lastBodyNanos;
    private boolean responseHeadersSeen;
    private long responseBytes;

    Exchange(InferenceRequest request, ScheduledRequest scheduled, EndpointStore.InFlightSlot slot,
             List<EndpointStore.InFlightSlot> stageSlots, EppMetrics metrics, LongSupplier ticker,
             long receivedNanos, RequestLog log, DecisionTiming timing) {
        this.request = request;
        this.scheduled = scheduled;
        this.slot = slot;
        this.stageSlots = stageSlots;
        this.metrics = metrics;
        this.ticker = ticker;
        this.receivedNanos = receivedNanos;
        this.log = log;
        this.timing = timing;
        this.rewriteBack = ModelNames.responseRewrite(request.targetModel(), request.model());
    }

    /** The request as scheduled ({@code targetModel} is the model it is served as). */
    public InferenceRequest request() {
        return request;
    }

    /** The chosen endpoints, primary first. */
    public SchedulingResult result() {
        return scheduled.result();
    }

    /** Each candidate's weighted score in the primary profile, by {@code ip:port} ({@link ScheduledRequest#scores}). */
    public Map<String, Double> scores() {
        return scheduled.scores();
    }

    /** Headers the pre-request hooks add to or remove from the forwarded request. */
    public UpstreamHeaders upstreamHeaders() {
        return scheduled.upstreamHeaders();
    }

    public Endpoint primary() {
        return scheduled.result().primary();
    }

    /** Whether the request is served under another model name than the client asked for. */
    public boolean modelRewritten() {
        return rewriteBack != null;
    }

    /**
     * Response bytes with the served model's name put back to the one the client asked for, or null when nothing
     * needs rewriting (forward the bytes as they are).
     */
    public byte[] rewriteBack(byte[] bytes, int offset, int length) {
        return rewriteBack == null ? null : rewriteBack.apply(bytes, offset, length);
    }

    /**
     * The model server's response headers arrived; returns the headers the scheduler's hooks add to the client's
     * response (e.g. {@code x-session-token}).
     *
     * @param headers the response headers, lower-case names
     * @param lbMetadata the request's latest {@code envoy.lb} metadata (string values), or null when there is none
     */
    public Map<String, String> onResponseHeaders(Map<String, String> headers, Map<String, String> lbMetadata) {
        responseHeadersSeen = true;
        long arrived = ticker.getAsLong();
        if (timing != null && timing.preRequested != 0) {
            responseHeadersNanos = arrived - timing.preRequested;
        }
        ResponseHeaders response = new ResponseHeaders(headers, lbMetadata);
        try (RequestTrace.Stage s = trace().enter("response_headers")) {
            scheduled.onResponseHeaders(response);
        } catch (RuntimeException e) {
            LOG.warn("response-headers hook failed for request {}", request.requestId(), e);
        }
        if (metrics != null) {
            metrics.stage(EppMetrics.Stage.RESPONSE_HEADERS, ticker.getAsLong() - arrived);
        }
        return response.added();
    }

    /** A response body chunk passed through (streamed responses: each chunk; others: the whole body once). */
    public void onResponseBody(ByteSlice chunk, boolean endOfStream) {
        responseBytes += chunk.length();
        if (chunk.length() > 0 || endOfStream) {
            releaseStages(); // the first token (or the whole answer): the prefill pod's part is done
        }
        long start = metrics == null ? 0 : ticker.getAsLong();
        try {
            scheduled.onResponseBody(chunk, endOfStream);
        } catch (RuntimeException e) {
            LOG.warn("response-body hook failed for request {}", request.requestId(), e);
        }
        if (metrics != null) {
            long end = ticker.getAsLong();
            metrics.stage(EppMetrics.Stage.RESPONSE_BODY, end - start);
            if (firstBodyNanos == 0) {
                firstBodyNanos = start;
            }
            lastBodyNanos = end;
        }
    }

    /**
     * The response ended and reported {@code usage}: the attributes plugins report to the gateway as dynamic metadata
     * (namespace to name to value), empty when none.
     */
    public Map<String, Map<String, Double>> responseAttributes(ResponseUsage usage) {
        try {
            return scheduled.responseAttributes(usage);
        } catch (RuntimeException e) {
            LOG.warn("response-attribute hook failed for request {}", request.requestId(), e);
            return Map.of();
        }
    }

    /** The request's trace ({@link RequestTrace#NONE} when not traced). */
    public RequestTrace trace() {
        return timing == null ? RequestTrace.NONE : timing.trace;
    }

    /**
     * Ends the exchange: releases the in-flight slot, runs the completion hooks and records the request's metrics.
     * Only the first call has an effect; returns whether this was it.
     *
     * @param usage token usage read from the response, or {@link ResponseUsage#NONE}
     * @param success whether the response completed (false: failed, cancelled or cut)
     */
    public boolean complete(ResponseUsage usage, boolean success) {
        if (!completed.compareAndSet(false, true)) {
            return false;
        }
        slot.release();
        releaseStages();
        try {
            scheduled.onComplete(usage, success);
        } catch (RuntimeException e) {
            LOG.warn("completion hook failed for request {}", request.requestId(), e);
        }
        long endNanos = ticker.getAsLong();
        long totalNanos = endNanos - receivedNanos;
        RequestTrace trace = trace();
        if (trace.recording()) {
            if (firstBodyNanos != 0) {
                trace.stage("response_body", firstBodyNanos, lastBodyNanos);
            }
            trace.end(endNanos, success && responseHeadersSeen ? "success" : "failure",
                    success ? null : "the response failed or was cancelled");
        }
        if (metrics != null) {
            metrics.requestCompleted(request.model(), request.targetModel(), totalNanos / 1e9, responseBytes, usage,
                    success && responseHeadersSeen);
        }
        if (log != null) {
            List<String> picked = new ArrayList<>(result().targets().size());
            for (Endpoint e : result().targets()) {
                picked.add(e.hostPort());
            }
            log.record(new RequestRecord(request.requestId(), timing.startMillis, request.model(),
                    request.targetModel(), timing.candidates, picked,
                    success && responseHeadersSeen ? "success" : "failure", "", usage.promptTokens(),
                    usage.completionTokens(), timing.stages(responseHeadersNanos, totalNanos)));
        }
        return true;
    }

    private void releaseStages() {
        for (int i = 0; i < stageSlots.size(); i++) {
            stageSlots.get(i).release(); // each slot gives back once
        }
    }

    public boolean isCompleted() {
        return completed.get();
    }

    /** A handle for a request that was not scheduled (no body): nothing to release, observe or count. */
    static Exchange unscheduled(InferenceRequest request, SchedulingResult result) {
        return new Exchange(request, ScheduledRequest.of(result), () -> { }, List.of(), null, () -> 0L, 0L, null,
                null);
    }
}
