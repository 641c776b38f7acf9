package io.epp4j.epp.request;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Byte-level model-name rewriting: into the request body and back out of response bytes. */
public final class ModelNames {

    private ModelNames() {
    }

    /** The body with the JSON string at {@code [start, end)} replaced by {@code model} as a JSON string. */
    public static byte[] spliceModel(byte[] body, int length, int start, int end, String model) {
        byte[] value = jsonString(model);
        byte[] out = new byte[length - (end - start) + value.length];
        System.arraycopy(body, 0, out, 0, start);
        System.arraycopy(value, 0, out, start, value.length);
        System.arraycopy(body, end, out, start + value.length, length - end);
        return out;
    }

    /**
     * Replaces {@code "model":"<from>"} and {@code "model": "<from>"} with the {@code to} name; returns null when
     * nothing matched (so the caller can forward the original bytes untouched).
     */
    public static byte[] rewriteResponse(byte[] data, int offset, int length, String from, String to) {
        byte[] fromValue = jsonString(from);
        byte[] toValue = jsonString(to);
        byte[] key = "\"model\":".getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = null;
        int end = offset + length;
        int copied = offset;
        int i = offset;
        while (i <= end - key.length) {
            if (!regionMatches(data, i, end, key)) {
                i++;
                continue;
            }
            int v = i + key.length;
            if (v < end && data[v] == ' ') {
                v++;
            }
            if (regionMatches(data, v, end, fromValue)) {
                if (out == null) {
                    out = new ByteArrayOutputStream(length + 16);
                }
                out.write(data, copied, v - copied);
                out.write(toValue, 0, toValue.length);
                copied = v + fromValue.length;
                i = copied;
            } else {
                i = v;
            }
        }
        if (out == null) {
            return null;
        }
        out.write(data, copied, end - copied);
        return out.toByteArray();
    }

    private static boolean regionMatches(byte[] data, int at, int end, byte[] needle) {
        if (at + needle.length > end) {
            return false;
        }
        for (int j = 0; j < needle.length; j++) {
            if (data[at + j] != needle[j]) {
                return false;
            }
        }
        return true;
    }

    /** {@code s} as a quoted JSON string, UTF-8. */
    public static byte[] jsonString(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        appendJsonString(sb, s);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Appends {@code s} as a quoted JSON string literal. */
    public static void appendJsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
