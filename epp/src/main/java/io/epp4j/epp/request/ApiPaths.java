package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;

import java.util.Map;

/** A request's path, and which OpenAI API it targets (GAIE's suffix rules). */
public final class ApiPaths {

    private ApiPaths() {
    }

    /**
     * The API for {@code :path}, else {@code x-original-path}, else {@code x-forwarded-path} (first non-empty);
     * completions when none is set or nothing matches.
     */
    public static ApiType fromHeaders(Map<String, String> headers) {
        String path = path(headers);
        return path.isEmpty() ? ApiType.COMPLETIONS : fromPath(path);
    }

    /**
     * The request's path: {@code :path}, else {@code x-original-path}, else {@code x-forwarded-path} (first
     * non-empty), without its query string and trailing slashes; "" when none is set.
     */
    public static String path(Map<String, String> headers) {
        for (String name : new String[] {":path", "x-original-path", "x-forwarded-path"}) {
            String path = headers.get(name);
            if (path != null && !path.isEmpty()) {
                return normalize(path);
            }
        }
        return "";
    }

    /**
     * Whether a {@link #path normalized} path ends with the segments {@code suffix} (leading and trailing slashes
     * ignored): {@code /v1/chat/completions} matches {@code chat/completions} and {@code completions}, not
     * {@code letions}.
     */
    public static boolean matchesSuffix(String path, String suffix) {
        String s = trimSlashes(suffix);
        if (s.isEmpty() || !path.endsWith(s)) {
            return false;
        }
        int before = path.length() - s.length() - 1;
        return before < 0 || path.charAt(before) == '/';
    }

    static String trimSlashes(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && s.charAt(from) == '/') {
            from++;
        }
        while (to > from && s.charAt(to - 1) == '/') {
            to--;
        }
        return s.substring(from, to).trim();
    }

    private static String normalize(String path) {
        int q = path.indexOf('?');
        String p = q >= 0 ? path.substring(0, q) : path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /**
     * Suffix match in GAIE's order (so Vertex-style {@code /v1/projects/.../chat/completions} works); vLLM's
     * {@code .../render} paths count as their parent's. Unlike GAIE, a query string is stripped first rather than
     * breaking the match.
     */
    public static ApiType fromPath(String path) {
        String p = normalize(path);
        if (p.endsWith("/render")) {
            p = p.substring(0, p.length() - "/render".length()); // vLLM's render endpoints share the body schema
        }
        if (p.endsWith("/conversations")) {
            return ApiType.CONVERSATIONS;
        }
        if (p.endsWith("/responses")) {
            return ApiType.RESPONSES;
        }
        if (p.endsWith("/chat/completions")) {
            return ApiType.CHAT_COMPLETIONS;
        }
        if (p.endsWith("/completions")) {
            return ApiType.COMPLETIONS;
        }
        if (p.endsWith("/embeddings")) {
            return ApiType.EMBEDDINGS;
        }
        return ApiType.COMPLETIONS;
    }

    /** The {@code content-length} header as a number, or -1 when absent or not a number. */
    public static long contentLength(Map<String, String> headers) {
        String value = headers.get("content-length");
        if (value != null) {
            try {
                return Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                // no usable length
            }
        }
        return -1;
    }
}
