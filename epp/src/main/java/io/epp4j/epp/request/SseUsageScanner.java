package io.epp4j.epp.request;

import io.epp4j.spi.ResponseUsage;

import java.util.Arrays;

/**
 * Finds usage in a streamed (SSE) response as its chunks pass: each {@code data: {...}} line that mentions
 * {@code usage} is parsed. A line split across chunks is carried over (up to a cap). The last usage seen wins,
 * so servers that report cumulative usage on every chunk end with the final figures. One instance per response;
 * not thread-safe.
 */
public final class SseUsageScanner {

    private static final int MAX_CARRY = 1 << 20;
    private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private byte[] carry = new byte[0];
    private int carryLength;
    private ResponseUsage usage;

    /** Feeds one chunk of the event stream. */
    public void feed(byte[] chunk, int offset, int length) {
        int end = offset + length;
        int lineStart = offset;
        for (int i = offset; i < end; i++) {
            if (chunk[i] == '\n') {
                if (carryLength > 0) {
                    append(chunk, lineStart, i - lineStart);
                    line(carry, 0, carryLength);
                    carryLength = 0;
                } else {
                    line(chunk, lineStart, i - lineStart);
                }
                lineStart = i + 1;
            }
        }
        if (lineStart < end) {
            append(chunk, lineStart, end - lineStart);
        }
    }

    /** Call at the end of the stream: a last line without a newline is parsed too. */
    public void finish() {
        if (carryLength > 0) {
            line(carry, 0, carryLength);
            carryLength = 0;
        }
    }

    /** The last usage seen, or null. */
    public ResponseUsage usage() {
        return usage;
    }

    private void append(byte[] src, int from, int length) {
        if (carryLength + length > MAX_CARRY) {
            carryLength = 0; // an absurdly long line: give up on it rather than grow without bound
            return;
        }
        if (carry.length < carryLength + length) {
            carry = Arrays.copyOf(carry, Math.max(carryLength + length, carry.length * 2 + 64));
        }
        System.arraycopy(src, from, carry, carryLength, length);
        carryLength += length;
    }

    private void line(byte[] buf, int from, int length) {
        int i = from;
        int end = from + length;
        if (length < 6 || buf[i] != 'd' || buf[i + 1] != 'a' || buf[i + 2] != 't' || buf[i + 3] != 'a'
                || buf[i + 4] != ':') {
            return;
        }
        i += 5;
        while (i < end && buf[i] == ' ') {
            i++;
        }
        if (!contains(buf, i, end, USAGE)) {
            return;
        }
        ResponseUsage found = UsageParser.parse(buf, i, end - i);
        if (found != null) {
            usage = found;
        }
    }

    static boolean contains(byte[] buf, int from, int end, byte[] needle) {
        outer:
        for (int i = from; i <= end - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (buf[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
