package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.spi.Endpoint;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The endpoints a request may go to: the pool, narrowed by the gateway's subset hint and the in-flight limit. */
final class Candidates {
    private final EndpointStore store;
    private final boolean ignoreSubsetHint;
    private final int maxEndpointInFlight;
    private final EppMetrics metrics;

    /**
     * @param ignoreSubsetHint {@code --disable-endpoint-subset-filter}
     * @param maxEndpointInFlight {@code --max-endpoint-in-flight} (0: no limit)
     * @param metrics where limit rejections are counted, or null
     */
    Candidates(EndpointStore store, boolean ignoreSubsetHint, int maxEndpointInFlight, EppMetrics metrics) {
        this.store = store;
        this.ignoreSubsetHint = ignoreSubsetHint;
        this.maxEndpointInFlight = maxEndpointInFlight;
        this.metrics = metrics;
    }

    /** The pool's endpoints whose IP is in {@code subsetHint} (all of them without a hint, or when it is ignored). */
    List<Endpoint> of(List<String> subsetHint) {
        List<Endpoint> all = store.snapshot();
        if (subsetHint == null || ignoreSubsetHint) {
            return all;
        }
        Set<String> ips = new HashSet<>();
        for (String address : subsetHint) {
            ips.add(ipOf(address));
        }
        List<Endpoint> out = new ArrayList<>();
        for (Endpoint e : all) {
            if (ips.contains(e.info().ip())) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * The candidates with fewer than {@code --max-endpoint-in-flight} requests in flight from this EPP; when every
     * one is at the limit the request is shed with 429, as GAIE sheds a request the saturated pool cannot take.
     * The count is read before scheduling, so concurrent decisions may pass the limit by their number.
     */
    List<Endpoint> belowInFlightLimit(List<Endpoint> candidates) throws InferenceError {
        if (maxEndpointInFlight <= 0) {
            return candidates;
        }
        List<Endpoint> out = null;
        for (int i = 0; i < candidates.size(); i++) {
            Endpoint e = candidates.get(i);
            if (e.inFlightRequests() >= maxEndpointInFlight) {
                if (out == null) {
                    out = new ArrayList<>(candidates.subList(0, i));
                }
            } else if (out != null) {
                out.add(e);
            }
        }
        if (out == null) {
            return candidates;
        }
        if (out.isEmpty()) {
            if (metrics != null) {
                metrics.limitRejected("endpoint_in_flight");
            }
            throw new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED, "all " + candidates.size()
                    + " candidate endpoints have " + maxEndpointInFlight
                    + " requests in flight (--max-endpoint-in-flight)");
        }
        return out;
    }

    /** The IP of {@code ip:port} / {@code [v6]:port}: GAIE matches subset hints by IP only. */
    static String ipOf(String address) {
        String a = address.trim();
        int colon = a.lastIndexOf(':');
        String host = colon > 0 && a.indexOf(':') == colon || a.startsWith("[") ? a.substring(0, colon) : a;
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host;
    }
}
