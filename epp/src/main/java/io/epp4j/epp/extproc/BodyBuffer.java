package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;

import java.util.Arrays;

/** One growing byte array a body is appended to: each chunk is copied once, into place. Not thread-safe. */
final class BodyBuffer {

    private byte[] data;
    private int size;

    BodyBuffer(int initialCapacity) {
        data = new byte[Math.max(0, initialCapacity)];
    }

    void append(ByteString chunk) {
        int n = chunk.size();
        if (n == 0) {
            return;
        }
        if (size + n > data.length) {
            long doubled = Math.min(Integer.MAX_VALUE - 8L, Math.max(1024L, data.length * 2L));
            data = Arrays.copyOf(data, (int) Math.max(size + (long) n, doubled));
        }
        chunk.copyTo(data, size);
        size += n;
    }

    /** The backing array; valid bytes are {@code [0, size())}. */
    byte[] array() {
        return data;
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }
}
