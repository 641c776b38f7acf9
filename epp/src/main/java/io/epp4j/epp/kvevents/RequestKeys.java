package io.epp4j.epp.kvevents;

import java.nio.charset.StandardCharsets;

/**
 * The index's own block keys, computed from token ids (as llm-d does since vLLM's default block hash cannot be
 * reproduced outside vLLM): {@code key_0 = H(root(model), tokens_0)}, {@code key_i = H(key_{i-1}, tokens_i)}, where
 * the root is a hash of the model or LoRA adapter name the blocks belong to. Only full blocks get a key. Events and
 * requests share this function, so the EPP needs internal consistency only. H mixes pairs of token ids in four
 * independent lanes (xor, rotate, one multiply each) and ends with a full avalanche.
 */
public final class RequestKeys {

    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;

    private RequestKeys() {
    }

    /** The chain's root for blocks of {@code model} (the LoRA adapter's name for adapter blocks). */
    public static long root(String model) {
        byte[] b = (model == null ? "" : model).getBytes(StandardCharsets.UTF_8);
        long h = P3 ^ b.length;
        for (byte x : b) {
            h = Long.rotateLeft(h ^ (x & 0xFF) * P1, 27) * P2;
        }
        return mix(h);
    }

    /** The key of the block {@code tokens[offset, offset+length)} following {@code parent}. */
    public static long next(long parent, int[] tokens, int offset, int length) {
        long a = parent + P1 + P2;
        long b = parent + P2;
        long c = parent;
        long d = parent - P1;
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            int o = offset + i;
            a = round(a, pair(tokens[o], tokens[o + 1]));
            b = round(b, pair(tokens[o + 2], tokens[o + 3]));
            c = round(c, pair(tokens[o + 4], tokens[o + 5]));
            d = round(d, pair(tokens[o + 6], tokens[o + 7]));
        }
        long h = Long.rotateLeft(a, 1) + Long.rotateLeft(b, 7) + Long.rotateLeft(c, 12) + Long.rotateLeft(d, 18);
        for (; i < length; i++) {
            h = round(h, tokens[offset + i] & 0xFFFFFFFFL);
        }
        return mix(h ^ length ^ parent * P4);
    }

    /** The keys of the first {@code min(tokenCount / blockSize, max)} full blocks, chained from {@code root}. */
    public static long[] keys(long root, int[] tokens, int tokenCount, int blockSize, int max) {
        int n = Math.min(tokenCount / blockSize, max);
        long[] out = new long[Math.max(0, n)];
        long parent = root;
        for (int i = 0; i < n; i++) {
            parent = next(parent, tokens, i * blockSize, blockSize);
            out[i] = parent;
        }
        return out;
    }

    private static long pair(int x, int y) {
        return (x & 0xFFFFFFFFL) | ((long) y << 32);
    }

    /** One multiply per round keeps each lane's dependency chain short; the lanes run in parallel. */
    private static long round(long acc, long v) {
        return Long.rotateLeft(acc ^ v, 27) * P1;
    }

    private static long mix(long h) {
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        return h ^ (h >>> 32);
    }
}
