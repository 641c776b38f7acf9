package io.epp4j.epp.extproc;

import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.telemetry.EppMetrics;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What all ext_proc streams of one server may hold together, so that a flood is answered before memory runs out:
 * open streams ({@code --max-concurrent-streams}) and body bytes buffered across streams
 * ({@code --max-buffered-body-bytes}: request bodies, the response bodies held until their end, and the answers a
 * slow gateway has not taken yet, each kind on its own {@link Account}); plus the per-request header limits
 * ({@code --max-request-header-count}, {@code --max-request-header-bytes}). Over a limit the request gets an ImmediateResponse (429, or 431 for headers)
 * with a message naming the flag, and {@code epp4j_limit_rejections_total{limit}} counts it; a response that does
 * not fit is passed on unheld instead (the model server has answered already). Thread-safe.
 *
 * <p>Bodies larger than {@link #SMALL_BODY_BYTES} (as held, or as announced by {@code content-length}) may fill the
 * shared budget only up to seven eighths: the last eighth is kept for small bodies (an ordinary chat request), so a flood of large uploads that never end cannot
 * starve ordinary traffic.
 */
public final class StreamLimits {

    /** Bodies up to this size may use the budget's reserved last eighth. */
    public static final long SMALL_BODY_BYTES = 1 << 20;

    /** No limit at all (tests of other parts). */
    public static StreamLimits none() {
        return new StreamLimits(0, 0, 0, 0, null);
    }

    private final int maxStreams;
    private final long maxBufferedBytes;
    private final long largeBodyCeiling;
    private final int maxHeaderCount;
    private final long maxHeaderBytes;
    private final EppMetrics metrics;
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicLong buffered = new AtomicLong();
    private final Account requestBodies = new Account();
    private final Account responseBodies = new Account();
    private final Account answers = new Account();

    /**
     * @param maxStreams open ext_proc streams at most (0: no limit)
     * @param maxBufferedBytes request- and response-body bytes buffered across streams at most (0: no limit)
     * @param maxHeaderCount request headers a request may have (0: no limit)
     * @param maxHeaderBytes total size of a request's header names and values (0: no limit)
     * @param metrics where rejections and the gauges go (null: nowhere)
     */
    public StreamLimits(int maxStreams, long maxBufferedBytes, int maxHeaderCount, long maxHeaderBytes,
                        EppMetrics metrics) {
        this.maxStreams = maxStreams;
        this.maxBufferedBytes = maxBufferedBytes;
        this.largeBodyCeiling = maxBufferedBytes - maxBufferedBytes / 8;
        this.maxHeaderCount = maxHeaderCount;
        this.maxHeaderBytes = maxHeaderBytes;
        this.metrics = metrics;
        if (metrics != null) {
            metrics.observeStreamLimits(streams::get, requestBodies::bytes, responseBodies::bytes, answers::bytes);
        }
    }

    /** Takes a stream slot; false when {@code --max-concurrent-streams} are open already (counted as rejected). */
    boolean tryOpenStream() {
        if (streams.incrementAndGet() > maxStreams && maxStreams > 0) {
            streams.decrementAndGet();
            rejected("streams");
            return false;
        }
        return true;
    }

    void closeStream() {
        streams.decrementAndGet();
    }

    /** The answer of a stream refused for {@link #tryOpenStream()}. */
    InferenceError streamsExhausted() {
        return new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED, "the EPP has " + maxStreams
                + " ext_proc streams open (--max-concurrent-streams); retry later");
    }

    /** The share of the body budget request bodies take, as they are buffered until the request is decided. */
    Account requestBodies() {
        return requestBodies;
    }

    /** The share of the body budget non-streamed response bodies take, as they are held until their end. */
    Account responseBodies() {
        return responseBodies;
    }

    /**
     * The share of the body budget answers take from when they are sent while their stream's transport is not ready
     * (the gateway reads slowly) until it takes them: reserved over the limit if need be (they are sent already),
     * so that new bodies are refused rather than memory growing.
     */
    Account answers() {
        return answers;
    }

    /**
     * Reserves {@code bytes} more of the body budget for a body of {@code bodySize} (what its stream then holds, or
     * the size it announced if larger); false (and nothing reserved) when the budget is spent.
     */
    private boolean tryReserve(long bytes, long bodySize) {
        if (maxBufferedBytes <= 0) {
            buffered.addAndGet(bytes);
            return true;
        }
        long ceiling = bodySize > SMALL_BODY_BYTES ? largeBodyCeiling : maxBufferedBytes;
        long now = buffered.addAndGet(bytes);
        if (now > ceiling) {
            buffered.addAndGet(-bytes);
            return false;
        }
        return true;
    }

    private void release(long bytes) {
        buffered.addAndGet(-bytes);
    }

    /** The answer of a request whose body does not fit the budget. */
    InferenceError bodyBudgetExhausted() {
        rejected("buffered_body_bytes");
        return new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED, "the EPP buffers " + maxBufferedBytes
                + " body bytes across requests at most (--max-buffered-body-bytes); retry later");
    }

    /** Counts a response passed on unheld because the body budget could not hold it to its end. */
    void responseNotHeld() {
        rejected("buffered_response_body_bytes");
    }

    /** Refuses headers over the count or size limit (431). */
    void checkHeaders(int count, long bytes) throws InferenceError {
        if (maxHeaderCount > 0 && count > maxHeaderCount) {
            rejected("header_count");
            throw new InferenceError(InferenceError.Code.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request has "
                    + count + " headers, more than " + maxHeaderCount + " (--max-request-header-count)");
        }
        if (maxHeaderBytes > 0 && bytes > maxHeaderBytes) {
            rejected("header_bytes");
            throw new InferenceError(InferenceError.Code.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request's headers "
                    + "take " + bytes + " bytes, more than " + maxHeaderBytes + " (--max-request-header-bytes)");
        }
    }

    private void rejected(String limit) {
        if (metrics != null) {
            metrics.limitRejected(limit);
        }
    }

    /** Streams open now. */
    public int openStreams() {
        return streams.get();
    }

    /** Body bytes reserved now, across streams, request and response bodies together. */
    public long bufferedBytes() {
        return buffered.get();
    }

    /**
     * One kind of body's share of the budget: what it reserves counts against the one budget and, on its own, in
     * its gauge. Thread-safe.
     */
    final class Account {

        private final AtomicLong held = new AtomicLong();

        /** Like {@link StreamLimits#tryReserve}, and counted on this account. */
        boolean tryReserve(long bytes, long bodySize) {
            if (!StreamLimits.this.tryReserve(bytes, bodySize)) {
                return false;
            }
            held.addAndGet(bytes);
            return true;
        }

        /** Reserves {@code bytes} even past the limit (what they stand for exists already). */
        void reserveOver(long bytes) {
            held.addAndGet(bytes);
            buffered.addAndGet(bytes);
        }

        void release(long bytes) {
            if (bytes != 0) {
                held.addAndGet(-bytes);
                StreamLimits.this.release(bytes);
            }
        }

        /** Bytes this account holds now. */
        long bytes() {
            return held.get();
        }
    }
}
