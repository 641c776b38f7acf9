package io.epp4j.epp.kvevents;

import java.util.List;

/**
 * One decoded {@code KVEventBatch}: the publisher's timestamp, its events in order, and how many events of a type
 * this EPP does not know were skipped.
 *
 * @param timestamp seconds since the epoch, as the engine wrote it
 * @param dataParallelRank the engine's data-parallel rank, or {@link KvEvent#NONE}
 */
public record KvEventBatch(double timestamp, List<KvEvent> events, int dataParallelRank, int unknownEvents) {

    public KvEventBatch {
        events = List.copyOf(events);
    }
}
