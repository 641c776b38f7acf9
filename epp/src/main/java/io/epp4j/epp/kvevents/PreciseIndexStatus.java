package io.epp4j.epp.kvevents;

import java.util.Map;

/**
 * What a precise prefix index shows an operator ({@code /debug/endpoints}, the dashboard): its size and, for each
 * pod whose KV events it follows, how fresh and complete those events are and whether the pod is scored from them
 * or by the approximate fallback right now. Implemented by the plugins that keep an index; a snapshot is built on
 * demand, off the request path. Thread-safe.
 */
@FunctionalInterface
public interface PreciseIndexStatus {

    /** The index's state now. */
    Snapshot status();

    /**
     * @param plugin the plugin's name in the configuration
     * @param fallback whether pods whose events cannot be trusted are scored by the approximate index
     * @param pods by pod ({@code ip:port}), the pods followed
     */
    record Snapshot(String plugin, boolean fallback, int entries, int capacity, long evictedEntries,
                    long parentUnknownSpans, Map<String, Pod> pods) {
    }

    /**
     * One pod's events.
     *
     * @param entries (block, tier) entries the index holds for the pod
     * @param scoredBy {@code events} or {@code approximate} (the fallback scores it now)
     * @param health {@code events_healthy}, {@code no_events} (none received yet), {@code stale} (silent for the
     *     stale time after a request that had blocks to store there was prefilled) or {@code sequence_gap} (lost
     *     events that could not be replayed)
     * @param lastSequence the last batch's sequence number applied, -1 before the first
     * @param lastEventAgeMillis time since the last batch was applied, -1 before the first
     * @param batches event batches applied
     * @param dropped messages or events dropped (malformed, unknown type, queue full, ...)
     * @param gapsReplayed sequence gaps filled from the replay socket
     * @param gapsUnrecovered sequence gaps that could not be filled (the pod's entries were cleared)
     * @param sequenceResets times the pod's sequence restarted (engine restart; entries cleared)
     */
    record Pod(int entries, String scoredBy, String health, long lastSequence, long lastEventAgeMillis,
               long batches, long dropped, long gapsReplayed, long gapsUnrecovered, long sequenceResets) {
    }
}
