package io.epp4j.scorers.prefix;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;

import java.util.concurrent.ConcurrentHashMap;

/**
 * How much of one request's prefix each endpoint holds, as a producer found it (llm-d's
 * {@code PrefixCacheMatchInfo}): matched blocks out of the request's blocks. A producer (the precise one) leaves it
 * under {@link #keyFor} its name, which {@code prefix-cache-scorer} reads when its {@code prefixMatchInfoProducerName}
 * names that producer (without it, the scorer reads the approximate producer's {@link PrefixMatch}). Immutable.
 */
public interface PrefixMatchInfo {

    /** The request's blocks (0 when its prompt is shorter than one block). */
    int totalBlocks();

    /** Matched blocks of one endpoint, possibly fractional (tier weights), in {@code [0, totalBlocks]}. */
    double matchedBlocks(Endpoint endpoint);

    /** The cycle-state key of the info a producer named {@code producerName} leaves. */
    static CycleState.Key<PrefixMatchInfo> keyFor(String producerName) {
        return Keys.BY_NAME.computeIfAbsent(producerName, n -> new CycleState.Key<>("prefix-match-info/" + n));
    }

    /** Interned keys (CycleState compares keys by identity). */
    final class Keys {
        static final ConcurrentHashMap<String, CycleState.Key<PrefixMatchInfo>> BY_NAME = new ConcurrentHashMap<>();

        private Keys() {
        }
    }
}
