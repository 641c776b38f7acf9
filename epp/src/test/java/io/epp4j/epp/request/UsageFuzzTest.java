package io.epp4j.epp.request;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.epp4j.spi.ResponseUsage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the response side's parsers: usage in a JSON response, usage in an SSE stream, and the model-name
 * rewrite of response bytes. Any bytes give usage or none (never an exception), token counts are either unknown
 * (-1) or not negative, and an SSE stream gives the same usage however the gateway cuts it into chunks. Without
 * {@code JAZZER_FUZZ=1} it replays the committed seeds (part of {@code mvn verify}).
 */
class UsageFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void anyJsonResponseGivesUsageOrNone(byte[] body) {
        checkUsage(UsageParser.parse(body, 0, body.length));
        if (body.length > 2) {
            checkUsage(UsageParser.parse(body, 1, body.length - 2)); // an offset into a larger buffer
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anySseStreamGivesTheSameUsageHoweverItIsChunked(byte[] stream) {
        SseUsageScanner whole = new SseUsageScanner();
        whole.feed(stream, 0, stream.length);
        whole.finish();
        checkUsage(whole.usage());

        SseUsageScanner split = new SseUsageScanner();
        int cut = stream.length == 0 ? 0 : (stream[0] & 0xff) % (stream.length + 1);
        split.feed(stream, 0, cut);
        split.feed(stream, cut, stream.length - cut);
        split.finish();
        assertEquals(whole.usage(), split.usage(), "cut at " + cut);

        SseUsageScanner bytes = new SseUsageScanner();
        for (int i = 0; i < stream.length; i++) {
            bytes.feed(stream, i, 1);
        }
        bytes.finish();
        assertEquals(whole.usage(), bytes.usage(), "one byte a chunk");
    }

    @FuzzTest(maxDuration = "60s")
    void anyResponseBytesRewriteTheModelOrPassUntouched(byte[] data) {
        ModelNames.ResponseRewrite rewrite = ModelNames.responseRewrite("served", "asked");
        byte[] out = rewrite.apply(data, 0, data.length);
        if (out == null) {
            String text = new String(data, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertTrue(!text.contains("\"model\":\"served\"") && !text.contains("\"model\": \"served\""),
                    "nothing passes untouched that names the served model");
        } else {
            int shorter = data.length - out.length; // each rewrite is one byte shorter ("served" -> "asked")
            assertTrue(shorter >= 1, "a rewrite happened");
            String text = new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertTrue(text.contains("\"asked\""), "the asked name is in the rewritten bytes");
        }
    }

    private static void checkUsage(ResponseUsage u) {
        if (u == null) {
            return;
        }
        for (long v : new long[] {u.promptTokens(), u.completionTokens(), u.cachedTokens(), u.totalTokens()}) {
            assertTrue(v >= -1, "token counts are unknown (-1) or counts: " + u);
        }
    }
}
