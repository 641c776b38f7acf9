package io.epp4j.epp.kvevents;

import java.nio.charset.StandardCharsets;

/**
 * The index's own block keys, computed from token ids (as llm-d does since vLLM's default block hash cannot be
 * reproduced outside vLLM): {@code key_0 = H(root(model), tokens_0)}, {@code key_i = H(key_{i-1}, tokens_i)}, where
 * the root is a hash of the model or LoRA adapter name the blocks belong to. Only full blocks get a key. Events and
 * requests share this function, so the EPP needs internal consistency only. H reads four token ids (16 bytes) per
 * 64x64-to-128-bit multiply, folding the product's two halves (wyhash's "mum"), in two lanes seeded by the parent
 * key: one multiply for four tokens.
 */
public final class RequestKeys {

    // secrets: odd, both 32-bit halves with the top bit set, so (a pair of non-negative token ids) ^ S is never 0
    private static final long S0 = 0xA0761D6478BD642FL;
    private static final long S1 = 0xE7037ED1A0B428DBL;
    private static final long S2 = 0x8EBC6AF09C88C6E3L;
    private static final long S3 = 0x9B9773A6C1EC9B4DL;

    private RequestKeys() {
    }

    /** The chain's root for blocks of {@code model} (the LoRA adapter's name for adapter blocks). */
    public static long root(String model) {
        byte[] b = (model == null ? "" : model).getBytes(StandardCharsets.UTF_8);
        long h = S3 ^ b.length;
        for (byte x : b) {
            h = mum(h ^ S0, (x & 0xFF) ^ S1);
        }
        return mum(h ^ S2, S3);
    }

    /** The key of the block {@code tokens[offset, offset+length)} following {@code parent}. */
    public static long next(long parent, int[] tokens, int offset, int length) {
        long a = parent ^ S0;
        long b = Long.rotateLeft(parent, 32) ^ S3;
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            int o = offset + i;
            a = mum(pair(tokens[o], tokens[o + 1]) ^ S1, pair(tokens[o + 2], tokens[o + 3]) ^ a);
            b = mum(pair(tokens[o + 4], tokens[o + 5]) ^ S2, pair(tokens[o + 6], tokens[o + 7]) ^ b);
        }
        for (; i < length; i++) {
            a = mum((tokens[offset + i] & 0xFFFFFFFFL) ^ S1, a ^ S2);
        }
        return mum(a ^ S3 ^ length, b ^ S0);
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

    /** The 128-bit product's halves folded: a full-avalanche mix of both operands. */
    private static long mum(long x, long y) {
        return x * y ^ Math.multiplyHigh(x, y);
    }
}
