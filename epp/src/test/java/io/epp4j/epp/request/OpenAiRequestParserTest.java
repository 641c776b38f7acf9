package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class OpenAiRequestParserTest {

    private static ParsedRequest parse(ApiType api, String json) throws InvalidRequestException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return OpenAiRequestParser.parse(api, b, b.length);
    }

    @Test
    void promptIsTheRawMessagesJsonInsideTheBody() throws Exception {
        String messages = "[{\"role\":\"user\",\"content\":\"héllo \\\"there\\\"\"}, {\"role\":\"assistant\"}]";
        String json = "{\"stream\":true,\"model\":\"llama-3\",\"cache_salt\":\"s1\",\"messages\":" + messages
                + ",\"n\":{\"deep\":[1,2,{\"x\":null}]}}";
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ParsedRequest r = OpenAiRequestParser.parse(ApiType.CHAT_COMPLETIONS, body, body.length);
        assertEquals("llama-3", r.model());
        assertTrue(r.stream());
        assertEquals("s1", r.cacheSalt());
        assertSame(body, r.prompt().array(), "a view into the body, not a copy");
        assertEquals(messages, r.prompt().utf8());
        assertEquals("\"llama-3\"", new String(body, r.modelStart(), r.modelEnd() - r.modelStart(),
                StandardCharsets.UTF_8));
    }

    @Test
    void offsetsAreRightWhenTheBodyArrayIsLargerThanTheBody() throws Exception {
        byte[] json = "{\"model\":\"m\",\"prompt\":\"abc\"}".getBytes(StandardCharsets.UTF_8);
        byte[] padded = java.util.Arrays.copyOf(json, json.length + 100);
        ParsedRequest r = OpenAiRequestParser.parse(ApiType.COMPLETIONS, padded, json.length);
        assertEquals("\"abc\"", r.prompt().utf8());
        assertEquals(9, r.modelStart());
        assertEquals(12, r.modelEnd());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "COMPLETIONS      | {\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}           | [\"a\",\"b\"]",
        "COMPLETIONS      | {\"model\":\"m\",\"prompt\":\"text\"}                | \"text\"",
        "RESPONSES        | {\"model\":\"m\",\"input\":{\"k\":1}}                 | {\"k\":1}",
        "EMBEDDINGS       | {\"model\":\"m\",\"input\":\"e\"}                     | \"e\"",
        "CONVERSATIONS    | {\"model\":\"m\",\"items\":[{\"type\":\"message\"}]} | [{\"type\":\"message\"}]",
    })
    void eachApiTakesItsPromptField(ApiType api, String json, String prompt) throws Exception {
        assertEquals(prompt, parse(api, json).prompt().utf8());
    }

    @Test
    void streamMustBeBooleanTrue() throws Exception {
        assertFalse(parse(ApiType.COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"p\",\"stream\":\"true\"}").stream());
        assertFalse(parse(ApiType.COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"p\"}").stream());
    }

    @Test
    void deepNestingIsRejectedNotAStackOverflow() {
        String deep = "[".repeat(100_000);
        assertThrows(InvalidRequestException.class,
                () -> parse(ApiType.CHAT_COMPLETIONS, "{\"model\":\"m\",\"messages\":" + deep + "}"));
    }

    @Test
    void truncatedJsonIsRejected() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> parse(ApiType.CHAT_COMPLETIONS, "{\"model\":\"m\",\"messages\":[{\"role\""));
        assertTrue(e.getMessage().startsWith("error unmarshaling request body"));
    }
}
