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
        return new ResponseRewrite(from, to).apply(data, offset, length);
    }

    /**
     * The rewrite back to the client for a request served as {@code served} but asked for as {@code asked}, or null
     * when the two are the same or the client named no model (nothing to rewrite).
     */
    public static ResponseRewrite responseRewrite(String served, String asked) {
        // a request whose body named no model (gRPC, a body not read): its responses name none to put back
        return served.equals(asked) || asked.isEmpty() ? null : new ResponseRewrite(served, asked);
    }

    /**
     * Rewrites {@code "model":"<from>"} (also with one space after the colon) to the {@code to} name in response
     * bytes; both names are encoded once, when the request is decided. Immutable.
     */
    public static final class ResponseRewrite {
        private static final byte[] KEY = "\"model\":".getBytes(StandardCharsets.US_ASCII);
        private final byte[] fromValue;
        private final byte[] toValue;

        private ResponseRewrite(String from, String to) {
            this.fromValue = jsonString(from);
            this.toValue = jsonString(to);
        }

        /** The rewritten bytes, or null when nothing matched (forward the original bytes untouched). */
        public byte[] apply(byte[] data, int offset, int length) {
            ByteArrayOutputStream out = null;
            int end = offset + length;
            int copied = offset;
            int i = offset;
            while (i <= end - KEY.length) {
                if (!regionMatches(data, i, end, KEY)) {
                    i++;
                    continue;
                }
                int v = i + KEY.length;
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
