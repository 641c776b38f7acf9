package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingResult;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request the director scheduled: it holds an in-flight slot on its primary endpoint until
 * {@link Director#complete} releases it (exactly once, whatever happens to the stream).
 */
public final class Routed {

    private final InferenceRequest request;
    private final SchedulingResult result;
    private final long inFlightTokens;
    final AtomicBoolean completed = new AtomicBoolean();
    final EndpointStore.InFlightSlot slot;

    Routed(InferenceRequest request, SchedulingResult result, long inFlightTokens, EndpointStore.InFlightSlot slot) {
        this.request = request;
        this.result = result;
        this.inFlightTokens = inFlightTokens;
        this.slot = slot;
    }

    public InferenceRequest request() {
        return request;
    }

    public SchedulingResult result() {
        return result;
    }

    public Endpoint primary() {
        return result.primary();
    }

    public long inFlightTokens() {
        return inFlightTokens;
    }

    public boolean isCompleted() {
        return completed.get();
    }
}
