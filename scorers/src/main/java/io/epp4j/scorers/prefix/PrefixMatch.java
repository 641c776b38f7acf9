package io.epp4j.scorers.prefix;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;

/**
 * The approximate prefix-cache match of one request, left in the {@link CycleState} by the
 * {@code approx-prefix-cache-producer} for the prefix scorer, the no-hit LRU scorer and the pre-request learner.
 *
 * @param blockHashes the request's chained block hashes (first {@code blockCount} are valid)
 * @param blockCount how many full blocks the prompt has (after truncation)
 * @param matchesById matched block count per index endpoint id
 * @param index the index the ids belong to
 * @param blockSizeTokens tokens per block (4 prompt bytes a token), 0 when unknown
 */
public record PrefixMatch(long[] blockHashes, int blockCount, int[] matchesById, PrefixIndex index,
                          int blockSizeTokens) {

    public static final CycleState.Key<PrefixMatch> KEY = new CycleState.Key<>("prefix-match");

    /** A match whose block size is not known. */
    public PrefixMatch(long[] blockHashes, int blockCount, int[] matchesById, PrefixIndex index) {
        this(blockHashes, blockCount, matchesById, index, 0);
    }

    /** Matched blocks of one endpoint (0 when unknown). */
    public int matchedBlocks(Endpoint endpoint) {
        int id = index.idOf(endpoint.info().name());
        return id >= 0 && id < matchesById.length ? matchesById[id] : 0;
    }

    /** True when at least one endpoint holds the first block. */
    public boolean anyHit() {
        for (int m : matchesById) {
            if (m > 0) {
                return true;
            }
        }
        return false;
    }
}
