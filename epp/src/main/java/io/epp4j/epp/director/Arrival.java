package io.epp4j.epp.director;

import java.util.List;
import java.util.Map;

/**
 * How one request reached the EPP, apart from its body: what the director decides on besides the parsed body, and
 * the times its metrics count from. Plain values and no gRPC types, so the director can be driven without a
 * gateway (a simulator passes its own clock's times).
 *
 * @param headers request headers, lower-case names, with {@code x-request-id} set (the stream generates one when
 *     the gateway sent none)
 * @param subsetHint the gateway's {@code envoy.lb.subset_hint} addresses ({@code ip:port}), or null when it sent
 *     none
 * @param receivedNanos ticker time the request's headers arrived; the request-duration metric counts from here
 */
public record Arrival(Map<String, String> headers, List<String> subsetHint, long receivedNanos) {

    public Arrival {
        headers = Map.copyOf(headers);
        subsetHint = subsetHint == null ? null : List.copyOf(subsetHint);
    }

    /** The {@code x-request-id}, or "" when there is none. */
    public String requestId() {
        return headers.getOrDefault(Director.REQUEST_ID, "");
    }
}
