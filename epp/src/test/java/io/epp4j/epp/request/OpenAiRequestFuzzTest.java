package io.epp4j.epp.request;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the OpenAI request parser, for every API shape (chat completions, completions, responses,
 * embeddings, conversations): any body either parses into a request whose model and prompt point into the body, or
 * is rejected with {@link InvalidRequestException} and a message (the 400 the gateway sees), never another
 * exception. A parsed body's model can be rewritten in place and the result parses again to the same request. Without
 * {@code JAZZER_FUZZ=1} it replays the committed seeds (part of {@code mvn verify}).
 */
class OpenAiRequestFuzzTest {

    private static final String REWRITTEN = "rewritten-\"model\"";

    @FuzzTest(maxDuration = "60s")
    void anyBodyParsesForEveryApiOrIsRejectedWithAMessage(byte[] body) {
        for (ApiType api : ApiType.values()) {
            checkParse(api, body, body.length);
            checkParse(api, body, body.length / 2); // the gateway's length can be short of the array
        }
    }

    private static void checkParse(ApiType api, byte[] body, int length) {
        ParsedRequest r;
        try {
            r = OpenAiRequestParser.parse(api, body, length);
        } catch (InvalidRequestException e) {
            assertNotNull(e.getMessage());
            assertFalse(e.getMessage().isEmpty());
            return;
        }
        assertEquals(api, r.api());
        assertFalse(r.model().isEmpty(), "a parsed request has a model");
        assertEquals(length, r.bodyBytes());
        assertTrue(0 <= r.modelStart() && r.modelStart() < r.modelEnd() && r.modelEnd() <= length,
                "the model's JSON string lies in the body: " + r.modelStart() + ".." + r.modelEnd());
        assertEquals('"', body[r.modelStart()]);
        assertEquals('"', body[r.modelEnd() - 1]);
        ByteSlice prompt = r.prompt();
        assertTrue(prompt.array() == body && prompt.offset() >= 0 && prompt.length() > 0
                && prompt.offset() + prompt.length() <= length, "the prompt is a view into the body");

        byte[] spliced = ModelNames.spliceModel(body, length, r.modelStart(), r.modelEnd(), REWRITTEN);
        ParsedRequest again;
        try {
            again = OpenAiRequestParser.parse(api, spliced, spliced.length);
        } catch (InvalidRequestException e) {
            throw new AssertionError("a body with its model rewritten no longer parses: " + e.getMessage() + " in "
                    + new String(spliced, StandardCharsets.UTF_8), e);
        }
        assertEquals(REWRITTEN, again.model());
        assertEquals(r.stream(), again.stream());
        assertEquals(r.cacheSalt(), again.cacheSalt());
        assertTrue(Arrays.equals(prompt.array(), prompt.offset(), prompt.offset() + prompt.length(),
                again.prompt().array(), again.prompt().offset(), again.prompt().offset() + again.prompt().length()),
                "the prompt is untouched by the rewrite");
    }

    @FuzzTest(maxDuration = "60s")
    void anyPathNamesAnApi(byte[] raw) {
        String path = new String(raw, StandardCharsets.UTF_8);
        assertNotNull(ApiPaths.fromPath(path));
        assertNotNull(ApiPaths.fromHeaders(java.util.Map.of(":path", path)));
    }
}
