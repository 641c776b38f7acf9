package io.epp4j.epp.request;

import io.epp4j.spi.ResponseUsage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class UsageParsingTest {

    private static ResponseUsage json(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return UsageParser.parse(b, 0, b.length);
    }

    @Test
    void chatUsageWithCachedTokens() {
        ResponseUsage u = json("{\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":10,"
                + "\"completion_tokens\":3,\"total_tokens\":13,\"prompt_tokens_details\":{\"cached_tokens\":4}}}");
        assertEquals(new ResponseUsage(10, 3, 4, 13), u);
    }

    @Test
    void responsesApiUsageAndCompletedEvent() {
        assertEquals(new ResponseUsage(7, 2, 5, 9), json("{\"object\":\"response\",\"usage\":{\"input_tokens\":7,"
                + "\"output_tokens\":2,\"total_tokens\":9,\"input_tokens_details\":{\"cached_tokens\":5}}}"));
        assertEquals(new ResponseUsage(1, 2, -1, 3), json("{\"type\":\"response.completed\",\"response\":{"
                + "\"usage\":{\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}}}"));
    }

    @Test
    void noUsageOrNotJsonIsNull() {
        assertNull(json("{\"object\":\"chat.completion\"}"));
        assertNull(json("<html>"));
        assertNull(json(""));
    }

    @Test
    void sseUsageSplitAcrossChunksIsFound() {
        SseUsageScanner scanner = new SseUsageScanner();
        String stream = "data: {\"choices\":[{\"delta\":{}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":"
                + "11,\"completion_tokens\":4,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":8}}}"
                + "\n\ndata: [DONE]\n\n";
        byte[] b = stream.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i += 7) {
            scanner.feed(b, i, Math.min(7, b.length - i));
        }
        scanner.finish();
        assertEquals(new ResponseUsage(11, 4, 8, 15), scanner.usage());
    }

    @Test
    void lastSseUsageWins() {
        SseUsageScanner scanner = new SseUsageScanner();
        byte[] b = ("data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n"
                + "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9}}").getBytes(StandardCharsets.UTF_8);
        scanner.feed(b, 0, b.length);
        scanner.finish();
        assertEquals(9, scanner.usage().completionTokens());
    }
}
