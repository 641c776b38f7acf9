package io.epp4j.epp.kvevents;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.LongSupplier;

/**
 * Whether one pod's KV events can be trusted for routing right now. A pod starts untrusted (a fresh EPP knows
 * nothing of what the pod already holds) and becomes trusted with its first event in sequence; it is untrusted
 * again while it is <em>stale</em>, and after a sequence gap that could not be replayed (its entries were cleared,
 * so it knows only what was stored since) until an event arrives {@code staleAfter} or more after the gap.
 *
 * <p>Stale means silent when the pod must have spoken: a request that had blocks to store there (its prompt ran
 * past what the index says the pod holds) has been prefilled ({@link #onStoreDue}), no event has arrived since
 * that request was routed, and {@code staleAfter} has passed since the prefill. The engine publishes only blocks
 * it newly stores, never prefix hits, so a pod that serves nothing but hits is quiet and stays trusted; and a
 * request still waiting in the pod's queue expects nothing yet. Transitions are logged and reported to the
 * listener. Thread-safe: events and scoring threads call in concurrently.
 */
public final class PodEventHealth {

    private static final Logger LOG = LoggerFactory.getLogger(PodEventHealth.class);

    /** {@link #state()} of a pod scored from its events. */
    public static final String HEALTHY = "events_healthy";

    /** Told about each transition: {@code precise} is the new state, {@code reason} why. */
    @FunctionalInterface
    public interface TransitionListener {
        void onTransition(String pod, boolean precise, String reason);
    }

    private final String pod;
    private final long staleAfterNanos;
    private final LongSupplier ticker;
    private final TransitionListener listener;
    private volatile long lastEventNanos;
    private volatile boolean sawEvent;
    private volatile boolean gapped;
    private volatile long gapNanos;
    /** When the first store due since the last event fell due; 0 when none is due. */
    private volatile long dueSinceNanos;
    private boolean precise;

    public PodEventHealth(String pod, long staleAfterNanos, LongSupplier ticker, TransitionListener listener) {
        this.pod = pod;
        this.staleAfterNanos = staleAfterNanos;
        this.ticker = ticker;
        this.listener = listener;
    }

    /** A batch in sequence was applied. */
    public synchronized void onEvents() {
        long now = ticker.getAsLong();
        lastEventNanos = now;
        dueSinceNanos = 0;
        if (gapped && now - gapNanos >= staleAfterNanos) {
            gapped = false;
        }
        sawEvent = true;
        evaluate();
    }

    /** Events were lost and could not be replayed: the pod's entries were cleared. */
    public void onUnrecoverableGap() {
        gapNanos = ticker.getAsLong();
        gapped = true;
        evaluate();
    }

    /**
     * A request routed to the pod at {@code routedNanos} (on this ticker), with blocks to store there, has been
     * prefilled (its first response bytes arrived): the pod has published those blocks by now. When no event has
     * arrived since {@code routedNanos}, the pod turns stale unless one arrives within {@code staleAfter}.
     */
    public synchronized void onStoreDue(long routedNanos) {
        if (dueSinceNanos == 0 && !(sawEvent && lastEventNanos - routedNanos >= 0)) {
            dueSinceNanos = Math.max(1, ticker.getAsLong());
        }
    }

    /** Whether to score the pod from its events now (re-evaluating staleness). */
    public boolean precise() {
        return evaluate();
    }

    public String pod() {
        return pod;
    }

    /**
     * {@link #HEALTHY}, or why not: {@code no_events} (none received yet), {@code sequence_gap} or {@code stale}
     * (re-evaluating staleness).
     */
    public String state() {
        if (evaluate()) {
            return HEALTHY;
        }
        return !sawEvent ? "no_events" : gapped ? "sequence_gap" : "stale";
    }

    /** The ticker's time of the last batch applied, 0 before the first. */
    public long lastEventNanos() {
        return sawEvent ? lastEventNanos : 0;
    }

    private synchronized boolean evaluate() {
        long due = dueSinceNanos;
        boolean stale = due != 0 && ticker.getAsLong() - due >= staleAfterNanos;
        boolean now = sawEvent && !gapped && !stale;
        if (now != precise) {
            String reason = now ? HEALTHY : gapped ? "sequence_gap" : "stale";
            precise = now;
            LOG.info("KV events of {}: {} -> {} ({})", pod, now ? "approximate" : "precise",
                    now ? "precise" : "approximate", reason);
            listener.onTransition(pod, now, reason);
        }
        return now;
    }
}
