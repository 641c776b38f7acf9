package io.epp4j.spi;

import java.nio.charset.StandardCharsets;

/**
 * A read-only view of a range of a byte array, used to hand request bodies and prompts to plugins without
 * copying them. Callers must not modify the array.
 */
public record ByteSlice(byte[] array, int offset, int length) {

    public static final ByteSlice EMPTY = new ByteSlice(new byte[0], 0, 0);

    public ByteSlice {
        if (offset < 0 || length < 0 || offset + length > array.length) {
            throw new IndexOutOfBoundsException("offset " + offset + " length " + length + " of " + array.length);
        }
    }

    public static ByteSlice of(byte[] array) {
        return new ByteSlice(array, 0, array.length);
    }

    public static ByteSlice of(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    public byte byteAt(int index) {
        return array[offset + index];
    }

    public ByteSlice slice(int from, int to) {
        return new ByteSlice(array, offset + from, to - from);
    }

    /** Decodes the range as UTF-8 (copies; not for the hot path). */
    public String utf8() {
        return new String(array, offset, length, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ByteSlice[" + length + " bytes]";
    }
}
