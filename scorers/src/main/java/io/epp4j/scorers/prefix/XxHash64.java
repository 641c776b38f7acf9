package io.epp4j.scorers.prefix;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** 64-bit xxHash (XXH64) of a byte range; allocation-free. */
public final class XxHash64 {

    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;
    private static final long P5 = 0x27D4EB2F165667C5L;

    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private XxHash64() {
    }

    public static long hash(byte[] data, int offset, int length, long seed) {
        int stripeEnd = offset + (length / 32) * 32;
        long h = length >= 32 ? stripes(data, offset, stripeEnd, null, seed) : seed + P5;
        return tail(h + length, data, stripeEnd, offset + length);
    }

    /**
     * The hash of {@code data[offset, offset+length)} followed by the 8 little-endian bytes of {@code suffix}, without
     * copying the data; {@code scratch} (at least 40 bytes) holds the tail that straddles the two.
     */
    public static long hashWithSuffix(byte[] data, int offset, int length, long suffix, long seed, byte[] scratch) {
        int total = length + 8;
        int dataEnd = offset + (length / 32) * 32;
        int rest = offset + length - dataEnd;
        if (rest == 0) {
            // block sizes are multiples of 32 in practice: the suffix is the whole tail, no scratch round trip
            long h = total >= 32 ? stripes(data, offset, dataEnd, null, seed) : seed + P5;
            return avalanche(mix8(h + total, suffix));
        }
        System.arraycopy(data, dataEnd, scratch, 0, rest);
        LONG_LE.set(scratch, rest, suffix);
        int tailLen = rest + 8;
        // the data's partial stripe plus the suffix can make one more whole stripe
        int q = tailLen >= 32 ? 32 : 0;
        long h = total >= 32 ? stripes(data, offset, dataEnd, q == 32 ? scratch : null, seed) : seed + P5;
        return tail(h + total, scratch, q, tailLen);
    }

    /**
     * The 32-byte stripes of {@code data[from, to)} ({@code to - from} a multiple of 32), then the stripe
     * {@code extra[0, 32)} if {@code extra} is not null, merged into the accumulator that starts the tail.
     */
    private static long stripes(byte[] data, int from, int to, byte[] extra, long seed) {
        long v1 = seed + P1 + P2;
        long v2 = seed + P2;
        long v3 = seed;
        long v4 = seed - P1;
        for (int p = from; p < to; p += 32) {
            v1 = round(v1, (long) LONG_LE.get(data, p));
            v2 = round(v2, (long) LONG_LE.get(data, p + 8));
            v3 = round(v3, (long) LONG_LE.get(data, p + 16));
            v4 = round(v4, (long) LONG_LE.get(data, p + 24));
        }
        if (extra != null) {
            v1 = round(v1, (long) LONG_LE.get(extra, 0));
            v2 = round(v2, (long) LONG_LE.get(extra, 8));
            v3 = round(v3, (long) LONG_LE.get(extra, 16));
            v4 = round(v4, (long) LONG_LE.get(extra, 24));
        }
        return mergeAll(v1, v2, v3, v4);
    }

    /** The bytes {@code buf[p, end)} (fewer than 32) after the stripes, then the final avalanche. */
    private static long tail(long h, byte[] buf, int p, int end) {
        for (; p + 8 <= end; p += 8) {
            h = mix8(h, (long) LONG_LE.get(buf, p));
        }
        if (p + 4 <= end) {
            h ^= ((int) INT_LE.get(buf, p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        for (; p < end; p++) {
            h ^= (buf[p] & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
        }
        return avalanche(h);
    }

    private static long mix8(long h, long lane) {
        h ^= round(0, lane);
        return Long.rotateLeft(h, 27) * P1 + P4;
    }

    private static long mergeAll(long v1, long v2, long v3, long v4) {
        long h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        return merge(h, v4);
    }

    private static long avalanche(long h) {
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        return h ^ (h >>> 32);
    }

    private static long round(long acc, long input) {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long merge(long acc, long v) {
        acc ^= round(0, v);
        return acc * P1 + P4;
    }
}
