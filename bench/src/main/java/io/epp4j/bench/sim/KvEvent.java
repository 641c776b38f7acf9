package io.epp4j.bench.sim;

import java.util.Arrays;

/**
 * One of vLLM's KV-cache events ({@code vllm/distributed/kv_events.py}), as a simulated pod publishes it and a
 * test decodes it. Block hashes are the pod's own 64-bit chained hashes (opaque to a router, as vLLM's are).
 */
public sealed interface KvEvent {

    /** vLLM's medium for blocks in GPU memory. */
    String GPU = "GPU";

    /**
     * Consecutive full prompt blocks that became cached.
     *
     * @param blockHashes the blocks' hashes, in prompt order
     * @param parentBlockHash the hash of the block before the first one, null when the first is block 0
     * @param tokenIds every token of those blocks ({@code blockHashes.length * blockSize})
     * @param loraId the adapter's id (1-based position among the served adapters), null for the base model
     * @param loraName the adapter's name, null for the base model
     */
    record BlockStored(long[] blockHashes, Long parentBlockHash, int[] tokenIds, int blockSize, Integer loraId,
                       String medium, String loraName) implements KvEvent {
        @Override
        public boolean equals(Object o) {
            return o instanceof BlockStored b && Arrays.equals(blockHashes, b.blockHashes)
                    && java.util.Objects.equals(parentBlockHash, b.parentBlockHash)
                    && Arrays.equals(tokenIds, b.tokenIds) && blockSize == b.blockSize
                    && java.util.Objects.equals(loraId, b.loraId) && java.util.Objects.equals(medium, b.medium)
                    && java.util.Objects.equals(loraName, b.loraName);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(blockHashes) * 31 + Arrays.hashCode(tokenIds);
        }

        @Override
        public String toString() {
            return "BlockStored" + Arrays.toString(blockHashes) + " parent " + parentBlockHash + " tokens "
                    + tokenIds.length + (loraName == null ? "" : " lora " + loraName);
        }
    }

    /** Cached blocks evicted (vLLM sends one per evicted block). */
    record BlockRemoved(long[] blockHashes, String medium) implements KvEvent {
        @Override
        public boolean equals(Object o) {
            return o instanceof BlockRemoved b && Arrays.equals(blockHashes, b.blockHashes)
                    && java.util.Objects.equals(medium, b.medium);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(blockHashes);
        }

        @Override
        public String toString() {
            return "BlockRemoved" + Arrays.toString(blockHashes);
        }
    }

    /** Every cached block is gone (reset_prefix_cache, or a restarted pod). */
    record AllBlocksCleared() implements KvEvent {
    }
}
