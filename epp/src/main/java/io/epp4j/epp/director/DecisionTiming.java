package io.epp4j.epp.director;

import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.tracing.RequestTrace;

import java.util.function.LongSupplier;

/** When each stage of one decision ended (ticker nanos; 0: not reached). Written by the deciding thread. */
final class DecisionTiming {
    final long parseNanos;
    final long start;
    final long startMillis;
    final RequestTrace trace;
    private final LongSupplier ticker;
    int candidates;
    long admitted;
    long scheduled;
    long preRequested;

    /**
     * @param parseNanos how long the body took to parse (-1: unknown)
     * @param start when the decision started (ticker nanos)
     * @param startMillis the same instant on the wall clock, for the request record
     */
    DecisionTiming(long parseNanos, long start, long startMillis, RequestTrace trace, LongSupplier ticker) {
        this.parseNanos = parseNanos;
        this.start = start;
        this.startMillis = startMillis;
        this.trace = trace;
        this.ticker = ticker;
    }

    RequestRecord.Stages stages(long responseHeadersNanos, long totalNanos) {
        long end = preRequested != 0 ? preRequested : scheduled != 0 ? scheduled : admitted != 0 ? admitted
                : ticker.getAsLong();
        return new RequestRecord.Stages(parseNanos, admitted == 0 ? -1 : admitted - start,
                scheduled == 0 ? -1 : scheduled - admitted, preRequested == 0 ? -1 : preRequested - scheduled,
                end - start, responseHeadersNanos, totalNanos);
    }

    void observe(EppMetrics m) {
        if (parseNanos >= 0) {
            m.stage(EppMetrics.Stage.PARSE, parseNanos);
        }
        m.stage(EppMetrics.Stage.ADMISSION, admitted - start);
        m.stage(EppMetrics.Stage.SCHEDULING, scheduled - admitted);
        m.stage(EppMetrics.Stage.PRE_REQUEST, preRequested - scheduled);
    }
}
