package io.epp4j.scorers.multimodal;

import io.epp4j.scorers.prefix.XxHash64;
import io.epp4j.spi.ByteSlice;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the media of an OpenAI chat request in its {@code messages} JSON: the {@code image_url.url},
 * {@code video_url.url} and {@code input_audio.data} of typed content parts, each identified by a 64-bit hash of
 * its bytes (repeats within a request count once). A scan, not a parse: it only looks inside the value that follows
 * one of those keys, and gives up quietly on malformed input.
 */
final class MediaItems {

    /** One distinct media item of a request. */
    record Item(long hash, String modality) {
    }

    private static final byte[][] KEYS = {
        "\"image_url\"".getBytes(StandardCharsets.US_ASCII),
        "\"video_url\"".getBytes(StandardCharsets.US_ASCII),
        "\"input_audio\"".getBytes(StandardCharsets.US_ASCII),
    };
    private static final String[] MODALITIES = {"image", "video", "audio"};
    private static final String[] FIELDS = {"url", "url", "data"};

    private MediaItems() {
    }

    static List<Item> extract(ByteSlice json) {
        Map<Long, Item> items = new LinkedHashMap<>();
        byte[] a = json.array();
        int end = json.offset() + json.length();
        for (int k = 0; k < KEYS.length; k++) {
            int from = json.offset();
            int at;
            while ((at = indexOf(a, from, end, KEYS[k])) >= 0) {
                from = at + KEYS[k].length;
                int colon = skipSpace(a, from, end);
                if (colon >= end || a[colon] != ':') {
                    continue; // the "type" value, not the key
                }
                int value = skipSpace(a, colon + 1, end);
                int[] span = value < end && a[value] == '"' ? stringSpan(a, value, end)
                        : value < end && a[value] == '{' ? fieldOf(a, value, end, FIELDS[k]) : null;
                if (span != null && span[1] > span[0]) {
                    long h = XxHash64.hash(a, span[0], span[1] - span[0], k);
                    items.putIfAbsent(h, new Item(h, MODALITIES[k]));
                }
            }
        }
        return new ArrayList<>(items.values());
    }

    /** The content span of the string value of {@code field} directly inside the object at {@code open}, or null. */
    private static int[] fieldOf(byte[] a, int open, int end, String field) {
        int i = skipSpace(a, open + 1, end);
        while (i < end && a[i] == '"') {
            int[] key = stringSpan(a, i, end);
            if (key == null) {
                return null;
            }
            i = skipSpace(a, key[1] + 1, end);
            if (i >= end || a[i] != ':') {
                return null;
            }
            i = skipSpace(a, i + 1, end);
            boolean wanted = new String(a, key[0], key[1] - key[0], StandardCharsets.UTF_8).equals(field);
            if (wanted) {
                return i < end && a[i] == '"' ? stringSpan(a, i, end) : null;
            }
            i = skipValue(a, i, end);
            if (i < 0) {
                return null;
            }
            i = skipSpace(a, i, end);
            if (i < end && a[i] == ',') {
                i = skipSpace(a, i + 1, end);
            }
        }
        return null;
    }

    /** {@code [first content byte, closing quote)} of the string starting at {@code quote}, or null. */
    private static int[] stringSpan(byte[] a, int quote, int end) {
        for (int i = quote + 1; i < end; i++) {
            if (a[i] == '\\') {
                i++;
            } else if (a[i] == '"') {
                return new int[] {quote + 1, i};
            }
        }
        return null;
    }

    /** The index after the JSON value starting at {@code i}, or -1. */
    private static int skipValue(byte[] a, int i, int end) {
        if (i >= end) {
            return -1;
        }
        if (a[i] == '"') {
            int[] s = stringSpan(a, i, end);
            return s == null ? -1 : s[1] + 1;
        }
        if (a[i] == '{' || a[i] == '[') {
            int depth = 0;
            for (int j = i; j < end; j++) {
                byte b = a[j];
                if (b == '"') {
                    int[] s = stringSpan(a, j, end);
                    if (s == null) {
                        return -1;
                    }
                    j = s[1];
                } else if (b == '{' || b == '[') {
                    depth++;
                } else if ((b == '}' || b == ']') && --depth == 0) {
                    return j + 1;
                }
            }
            return -1;
        }
        int j = i;
        while (j < end && a[j] != ',' && a[j] != '}' && a[j] != ']') {
            j++;
        }
        return j;
    }

    private static int skipSpace(byte[] a, int i, int end) {
        while (i < end && (a[i] == ' ' || a[i] == '\n' || a[i] == '\r' || a[i] == '\t')) {
            i++;
        }
        return i;
    }

    private static int indexOf(byte[] a, int from, int end, byte[] needle) {
        outer:
        for (int i = from, last = end - needle.length; i <= last; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
