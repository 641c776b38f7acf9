package io.epp4j.epp.director;

import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.spi.InferenceRequest;

/**
 * A parsed request on its way to a decision: what {@link Director#admit} returns. Without flow control, or when
 * flow control let it through at once, it is ready for {@link Director#decide(Admission)}; otherwise it waits in a
 * flow-control queue, holding no thread, until {@link #whenReady}'s action runs. Thread-safe.
 */
public final class Admission {

    final InferenceRequest request;
    final Arrival arrival;
    /** The request's place in flow control, or null when flow control is off. */
    final FlowController.Ticket ticket;
    /** The request's stage timings and trace, from its admission on. */
    final DecisionTiming timing;

    Admission(InferenceRequest request, Arrival arrival, FlowController.Ticket ticket, DecisionTiming timing) {
        this.request = request;
        this.arrival = arrival;
        this.ticket = ticket;
        this.timing = timing;
    }

    /** Whether flow control handles the request (its gate is on): it may have to wait, see {@link #whenReady}. */
    public boolean flowControlled() {
        return ticket != null;
    }

    /** The request as it will be scheduled. */
    public InferenceRequest request() {
        return request;
    }

    /**
     * Runs {@code then} once the request leaves its queue (dispatched, expired, cancelled), on the thread that
     * releases it; returns false, without running it, when the request is ready now.
     */
    public boolean whenReady(Runnable then) {
        return ticket != null && ticket.whenDone(then);
    }

    /** The gateway went away: a waiting request leaves its queue at once and frees its capacity. */
    public void cancel() {
        if (ticket != null) {
            ticket.cancel();
        }
    }
}
