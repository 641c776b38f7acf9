package io.epp4j.epp.kvevents;

/**
 * One decoded vLLM KV-cache event ({@code vllm/distributed/kv_events.py}): what a pod's block pool stored, evicted
 * or cleared. Block hashes are the engine's 64-bit values (the low 64 bits of a byte digest), opaque to the EPP.
 */
public sealed interface KvEvent permits KvEvent.BlockStored, KvEvent.BlockRemoved, KvEvent.AllBlocksCleared {

    /** No value for an optional int field. */
    int NONE = -1;

    /**
     * Blocks that became full and cached, in order; {@code tokenIds} holds {@code blockHashes.length * blockSize}
     * tokens (none for a tier update such as a CPU offload of blocks already announced).
     *
     * @param parentHash the engine hash of the block before the first one, valid when {@code hasParent}
     * @param loraName the LoRA adapter's name, or null for the base model
     * @param medium the tier as sent ({@code GPU}, {@code CPU}, ...), or null (meaning GPU)
     * @param groupIdx the KV-cache group, or {@link #NONE}
     * @param specKind {@code kv_cache_spec_kind} ({@code full_attention}, {@code sliding_window}, ...), or null
     */
    record BlockStored(long[] blockHashes, boolean hasParent, long parentHash, int[] tokenIds, int blockSize,
                       String loraName, String medium, int groupIdx, String specKind) implements KvEvent {
    }

    /** Blocks the pod evicted (no tokens: the index finds them by engine hash). */
    record BlockRemoved(long[] blockHashes, String medium, int groupIdx) implements KvEvent {
    }

    /** The pod's prefix cache was reset (restart, {@code reset_prefix_cache}). */
    record AllBlocksCleared() implements KvEvent {
    }
}
