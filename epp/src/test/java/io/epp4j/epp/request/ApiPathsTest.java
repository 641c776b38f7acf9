package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ApiPathsTest {

    @ParameterizedTest
    @CsvSource({
        "/v1/chat/completions, CHAT_COMPLETIONS",
        "/v1/completions, COMPLETIONS",
        "/v1/responses, RESPONSES",
        "/v1/conversations, CONVERSATIONS",
        "/v1/embeddings, EMBEDDINGS",
        "/v1/projects/p/locations/l/endpoints/openapi/chat/completions, CHAT_COMPLETIONS",
        "/v1/chat/completions?x=1, CHAT_COMPLETIONS",
        "/v1/models, COMPLETIONS",
        "/, COMPLETIONS",
    })
    void apiFollowsThePathSuffix(String path, ApiType api) {
        assertEquals(api, ApiPaths.fromPath(path));
    }

    @Test
    void pathHeadersAreTriedInGaieOrder() {
        assertEquals(ApiType.EMBEDDINGS, ApiPaths.fromHeaders(Map.of("x-original-path", "/v1/embeddings",
                "x-forwarded-path", "/v1/responses")));
        assertEquals(ApiType.RESPONSES, ApiPaths.fromHeaders(Map.of(":path", "", "x-forwarded-path",
                "/v1/responses")));
        assertEquals(ApiType.CHAT_COMPLETIONS, ApiPaths.fromHeaders(Map.of(":path", "/v1/chat/completions",
                "x-original-path", "/v1/embeddings")));
        assertEquals(ApiType.COMPLETIONS, ApiPaths.fromHeaders(Map.of()));
    }
}
