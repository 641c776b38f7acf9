package io.epp4j.epp.director;

import java.util.List;

/**
 * One request as it ended, for {@code /debug/decisions}: what was asked, where it went, how it ended and how long
 * each stage took. Immutable; built once, when the request ends or is rejected.
 *
 * @param requestId the request's {@code x-request-id}
 * @param receivedMillis wall-clock time the request's decision started
 * @param model the model the client asked for
 * @param targetModel the model it was served as
 * @param candidates how many endpoints were candidates (after the subset hint)
 * @param picked the chosen endpoints ({@code ip:port}), primary first; empty when rejected
 * @param outcome {@code success} (the response completed), {@code failure} (it failed, was cut or cancelled), or
 *     the error code the EPP answered with ({@code ResourceExhausted}, {@code ServiceUnavailable}, ...)
 * @param message the error message when rejected, else ""
 * @param promptTokens usage reported by the model server, -1 when absent
 * @param completionTokens usage reported by the model server, -1 when absent
 * @param stages per-stage durations
 */
public record RequestRecord(String requestId, long receivedMillis, String model, String targetModel, int candidates,
                            List<String> picked, String outcome, String message, long promptTokens,
                            long completionTokens, Stages stages) {

    public RequestRecord {
        picked = List.copyOf(picked);
    }

    /**
     * How long each stage of one request took, in nanoseconds; -1 for a stage the request did not reach.
     *
     * @param parseNanos parsing the body
     * @param admissionNanos candidates and admission
     * @param schedulingNanos the scheduler (filters, scorers, pickers of every profile)
     * @param preRequestNanos pre-request hooks
     * @param decisionNanos from the start of the decision to the pick, all of the above but parsing
     * @param responseHeadersNanos from the pick to the model server's response headers
     * @param totalNanos from the request's arrival to its end
     */
    public record Stages(long parseNanos, long admissionNanos, long schedulingNanos, long preRequestNanos,
                         long decisionNanos, long responseHeadersNanos, long totalNanos) {
    }
}
