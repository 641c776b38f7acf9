package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.request.ApiPaths;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One request's headers as the gateway sent them, and what every request-side answer repeats, worked out once:
 * the echo of an {@code x-request-id} the EPP generated, and the removal of the control headers the request
 * carried (GAIE's gateway-facing headers must not reach the model server). Immutable.
 */
final class RequestHeaders {

    private static final List<String> CONTROL_HEADERS = List.of(Director.OBJECTIVE, Director.FAIRNESS_ID,
            Director.MODEL_REWRITE, Director.LLMD_OBJECTIVE, Director.LLMD_FAIRNESS_ID, Director.LLMD_MODEL_REWRITE);

    private final Map<String, String> values;
    private final HeaderValueOption requestIdEcho;
    private final List<String> removals;

    private RequestHeaders(Map<String, String> values, HeaderValueOption requestIdEcho, List<String> removals) {
        this.values = values;
        this.requestIdEcho = requestIdEcho;
        this.removals = removals;
    }

    /** Reads the gateway's headers; an {@code x-request-id} is generated when missing (and then echoed). */
    static RequestHeaders read(HeaderMap map, Supplier<String> requestIds) {
        Map<String, String> values = Mutations.readHeaders(map);
        HeaderValueOption echo = null;
        String requestId = values.get(Director.REQUEST_ID);
        if (requestId == null || requestId.isEmpty()) {
            requestId = requestIds.get();
            values.put(Director.REQUEST_ID, requestId);
            echo = Mutations.header(Director.REQUEST_ID, requestId);
        }
        List<String> removals = new ArrayList<>(CONTROL_HEADERS.size());
        for (String name : CONTROL_HEADERS) {
            if (values.containsKey(name)) {
                removals.add(name);
            }
        }
        return new RequestHeaders(Map.copyOf(values), echo, List.copyOf(removals));
    }

    /** Headers without a headers message (a body sent first): an empty map and a generated request id. */
    static RequestHeaders none(Supplier<String> requestIds) {
        return read(HeaderMap.getDefaultInstance(), requestIds);
    }

    Map<String, String> values() {
        return values;
    }

    String get(String name) {
        return values.get(name);
    }

    String requestId() {
        return values.get(Director.REQUEST_ID);
    }

    /** The request's {@code content-length}, or -1 when absent or not a number. */
    long contentLength() {
        return ApiPaths.contentLength(values);
    }

    /** The bytes of a headers message's names and values, as {@code --max-request-header-bytes} counts them. */
    static long bytes(HeaderMap map) {
        long n = 0;
        for (var h : map.getHeadersList()) {
            n += h.getKey().length() + h.getValue().length() + h.getRawValue().size();
        }
        return n;
    }

    /** A request-side header mutation: {@code sets} first, then the request-id echo, then the removals. */
    HeaderMutation.Builder mutation(HeaderValueOption... sets) {
        HeaderMutation.Builder m = HeaderMutation.newBuilder();
        for (HeaderValueOption s : sets) {
            m.addSetHeaders(s);
        }
        if (requestIdEcho != null) {
            m.addSetHeaders(requestIdEcho);
        }
        return m.addAllRemoveHeaders(removals);
    }
}
