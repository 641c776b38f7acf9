package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;

import java.util.Arrays;

/**
 * One growing byte array a body is appended to: each chunk is copied once, into place. With a {@link StreamLimits}
 * account the array's capacity is reserved from it as it grows ({@link #tryAppend}) and given back by
 * {@link #release()}. Not thread-safe.
 */
final class BodyBuffer {

    private static final byte[] EMPTY = new byte[0];

    private final StreamLimits.Account budget;
    private final int presize;
    private final long declaredSize;
    private byte[] data = EMPTY;
    private int size;

    /** A buffer outside any budget. */
    BodyBuffer(int initialCapacity) {
        this(initialCapacity, -1, null);
    }

    /**
     * @param presize the capacity taken by the first chunk when the budget allows it (the array is allocated then)
     * @param declaredSize the body's size as the request announced it ({@code content-length}), or -1: a body
     *     announced large counts as large for the budget from its first byte
     * @param budget the account of the body budget the capacity is reserved from, or null
     */
    BodyBuffer(int presize, long declaredSize, StreamLimits.Account budget) {
        this.presize = Math.max(0, presize);
        this.declaredSize = declaredSize;
        this.budget = budget;
    }

    void append(ByteString chunk) {
        if (!tryAppend(chunk)) {
            throw new IllegalStateException("body budget exhausted");
        }
    }

    /** Appends {@code chunk}, or returns false (nothing appended) when the budget cannot cover the growth. */
    boolean tryAppend(ByteString chunk) {
        int n = chunk.size();
        if (n == 0) {
            return true;
        }
        long needed = size + (long) n;
        if (needed > data.length) {
            long grown = data.length == 0 ? Math.max(presize, needed)
                    : Math.max(needed, Math.min(Integer.MAX_VALUE - 8L, Math.max(1024L, data.length * 2L)));
            if (!reserve(grown - data.length, grown)) {
                grown = needed; // no headroom: exactly what this chunk needs
                if (!reserve(grown - data.length, grown)) {
                    return false;
                }
            }
            data = Arrays.copyOf(data, (int) grown);
        }
        chunk.copyTo(data, size);
        size += n;
        return true;
    }

    private boolean reserve(long bytes, long capacityAfter) {
        return budget == null || budget.tryReserve(bytes, Math.max(capacityAfter, declaredSize));
    }

    /** The backing array; valid bytes are {@code [0, size())}. */
    byte[] array() {
        return data;
    }

    int size() {
        return size;
    }

    /** Gives the reserved capacity back to the budget (the array now belongs to whoever sent it); idempotent. */
    void release() {
        if (budget != null) {
            budget.release(data.length);
        }
        data = EMPTY;
        size = 0;
    }
}
