package io.epp4j.epp.director;

import io.epp4j.epp.config.FlowControlConfig;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.SchedulingException;

import java.util.List;

/**
 * The director's view of the scheduler: admits and picks endpoints for a request, and hands back the scheduled
 * request, which carries whatever scheduling left for the request's later hooks. Implementations are thread-safe;
 * both methods are called on the request path.
 */
public interface RequestScheduler {

    /**
     * Admission before scheduling: returns null to admit, or the reason a request is shed (answered with 429),
     * e.g. a sheddable request (priority &lt; 0) while the saturation detector reports the pool saturated.
     */
    default String admissionDenial(InferenceRequest request, List<Endpoint> candidates) {
        return null;
    }

    /**
     * The configured admitter plugins' verdict (llm-d's {@code probabilistic-admitter}, ...), asked for every
     * request, with flow control on or off: null to admit, else why it is rejected (answered 429).
     */
    default String admitterDenial(InferenceRequest request, List<Endpoint> candidates) {
        return null;
    }

    /**
     * Picks target endpoints among {@code candidates} (never empty); throws when every endpoint was ruled out. The
     * result's hooks run later for this request only, with the state scheduling left.
     */
    ScheduledRequest schedule(InferenceRequest request, List<Endpoint> candidates) throws SchedulingException;

    /**
     * The flow-control settings of the configuration serving now, or null when the {@code flowControl} feature gate
     * is off (the default): then requests are not queued and {@link #admissionDenial} applies.
     */
    default FlowControlConfig flowControl() {
        return null;
    }

    /**
     * Whether scheduling may wait on I/O with the configuration serving now (a plugin that calls a remote service):
     * the EPP then runs decisions on threads that may block. Default: no.
     */
    default boolean mayBlock() {
        return false;
    }

    /** The request parsers of the configuration serving now. Default: GAIE's {@code openai-parser} for every path. */
    default RequestParsers parsers() {
        return RequestParsers.GAIE_DEFAULT;
    }
}
