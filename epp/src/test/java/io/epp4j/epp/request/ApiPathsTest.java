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
        "/v1/chat/completions/render, CHAT_COMPLETIONS",
        "/v1/completions/render/, COMPLETIONS",
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

    @ParameterizedTest
    @CsvSource({
        "/v1/chat/completions, chat/completions, true",
        "/v1/chat/completions, /completions/, true",
        "/v1/chat/completions, letions, false",
        "/generate, generate, true",
        "/inference/v1/generate, generate, true",
        "/vllm.grpc.engine.VllmEngine/Generate, vllm.grpc.engine.VllmEngine/Generate, true",
        "/v1/messages/count_tokens, messages, false",
        "'', completions, false",
    })
    void suffixesMatchWholeSegments(String path, String suffix, boolean matches) {
        assertEquals(matches, ApiPaths.matchesSuffix(path, suffix));
    }

    @Test
    void thePathDropsItsQueryAndTrailingSlashes() {
        assertEquals("/v1/messages", ApiPaths.path(Map.of(":path", "/v1/messages/?beta=true")));
        assertEquals("", ApiPaths.path(Map.of()));
    }
}
