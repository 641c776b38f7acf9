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
        int end = offset + length;
        int p = offset;
        long h;
        if (length >= 32) {
            long v1 = seed + P1 + P2;
            long v2 = seed + P2;
            long v3 = seed;
            long v4 = seed - P1;
            int limit = end - 32;
            do {
                v1 = round(v1, (long) LONG_LE.get(data, p));
                v2 = round(v2, (long) LONG_LE.get(data, p + 8));
                v3 = round(v3, (long) LONG_LE.get(data, p + 16));
                v4 = round(v4, (long) LONG_LE.get(data, p + 24));
                p += 32;
            } while (p <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = seed + P5;
        }
        h += length;
        while (p + 8 <= end) {
            h ^= round(0, (long) LONG_LE.get(data, p));
            h = Long.rotateLeft(h, 27) * P1 + P4;
            p += 8;
        }
        if (p + 4 <= end) {
            h ^= ((int) INT_LE.get(data, p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        while (p < end) {
            h ^= (data[p] & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            p++;
        }
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    /**
     * The hash of {@code data[offset, offset+length)} followed by the 8 little-endian bytes of {@code suffix}, without
     * copying the data; {@code scratch} (at least 40 bytes) holds the tail that straddles the two.
     */
    public static long hashWithSuffix(byte[] data, int offset, int length, long suffix, long seed, byte[] scratch) {
        int total = length + 8;
        int p = offset;
        long h;
        int stripesInData = length >= 32 ? (length / 32) * 32 : 0;
        int dataEnd = offset + stripesInData;
        long v1 = seed + P1 + P2;
        long v2 = seed + P2;
        long v3 = seed;
        long v4 = seed - P1;
        while (p < dataEnd) {
            v1 = round(v1, (long) LONG_LE.get(data, p));
            v2 = round(v2, (long) LONG_LE.get(data, p + 8));
            v3 = round(v3, (long) LONG_LE.get(data, p + 16));
            v4 = round(v4, (long) LONG_LE.get(data, p + 24));
            p += 32;
        }
        int rest = offset + length - p;
        if (rest == 0) {
            // block sizes are multiples of 32 in practice: the suffix is the whole tail, no scratch round trip
            h = total >= 32 ? mergeAll(v1, v2, v3, v4) : seed + P5;
            h += total;
            h ^= round(0, suffix);
            h = Long.rotateLeft(h, 27) * P1 + P4;
            return avalanche(h);
        }
        System.arraycopy(data, p, scratch, 0, rest);
        LONG_LE.set(scratch, rest, suffix);
        int tailLen = rest + 8;
        int q = 0;
        if (tailLen >= 32) {
            v1 = round(v1, (long) LONG_LE.get(scratch, 0));
            v2 = round(v2, (long) LONG_LE.get(scratch, 8));
            v3 = round(v3, (long) LONG_LE.get(scratch, 16));
            v4 = round(v4, (long) LONG_LE.get(scratch, 24));
            q = 32;
        }
        if (total >= 32) {
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = seed + P5;
        }
        h += total;
        while (q + 8 <= tailLen) {
            h ^= round(0, (long) LONG_LE.get(scratch, q));
            h = Long.rotateLeft(h, 27) * P1 + P4;
            q += 8;
        }
        if (q + 4 <= tailLen) {
            h ^= ((int) INT_LE.get(scratch, q) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            q += 4;
        }
        while (q < tailLen) {
            h ^= (scratch[q] & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            q++;
        }
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
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
