package io.epp4j.spi;

import java.util.List;

/**
 * Flow control's fairness policy as a plugin: picks which flow (fairness id) of a priority band sends its head
 * request next. Named by a band's {@code fairnessPolicyRef}. Called on flow control's dispatcher thread only, with
 * flow control's lock held: it must be quick and must not block or call back into the EPP.
 */
public interface FairnessPolicy extends Plugin {

    /**
     * The index in {@code flows} (never empty, every flow has a request waiting) of the flow to dispatch from.
     * An index out of range dispatches nothing from this band in this cycle.
     */
    int pick(int priority, List<QueuedFlow> flows);

    /**
     * One non-empty flow of a band.
     *
     * @param fairnessId the flow's {@code x-gateway-inference-fairness-id}
     * @param length requests waiting in it
     * @param headWaitNanos how long its head request has waited
     */
    record QueuedFlow(String fairnessId, int length, long headWaitNanos) {
    }
}
