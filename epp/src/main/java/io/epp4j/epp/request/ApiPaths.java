package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;

import java.util.Map;

/** Which OpenAI API a request targets, from its path (GAIE's suffix rules). */
public final class ApiPaths {

    private ApiPaths() {
    }

    /**
     * The API for {@code :path}, else {@code x-original-path}, else {@code x-forwarded-path} (first non-empty);
     * completions when none is set or nothing matches.
     */
    public static ApiType fromHeaders(Map<String, String> headers) {
        for (String name : new String[] {":path", "x-original-path", "x-forwarded-path"}) {
            String path = headers.get(name);
            if (path != null && !path.isEmpty()) {
                return fromPath(path);
            }
        }
        return ApiType.COMPLETIONS;
    }

    /**
     * Suffix match in GAIE's order (so Vertex-style {@code /v1/projects/.../chat/completions} works). Unlike
     * GAIE, a query string is stripped first rather than breaking the match.
     */
    public static ApiType fromPath(String path) {
        int q = path.indexOf('?');
        String p = q >= 0 ? path.substring(0, q) : path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
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
}
