package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input must be a clear 400 (or "no usage"), never another exception: seeded mutations (truncation, byte
 * flips, insertions) of valid request and response documents are fed to every parser.
 */
class MalformedInputTest {

    private static final byte[][] SEEDS = {
        utf8("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                + "\"text\":\"h\\u00e9\\\"llo\"}]}],\"cache_salt\":\"s\",\"n\":1.5e3}"),
        utf8("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"],\"max_tokens\":-1,\"x\":[null,true,false,{}]}"),
        utf8("{\"object\":\"chat.completion\",\"model\":\"t\",\"usage\":{\"prompt_tokens\":10,"
                + "\"completion_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":4}}}"),
        utf8("data: {\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n"),
    };

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] mutate(byte[] seed, Random random) {
        byte[] b = Arrays.copyOf(seed, seed.length);
        switch (random.nextInt(4)) {
            case 0 -> b = Arrays.copyOf(b, random.nextInt(b.length + 1));
            case 1 -> {
                for (int i = 0, n = 1 + random.nextInt(4); i < n && b.length > 0; i++) {
                    b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                }
            }
            case 2 -> {
                int at = random.nextInt(b.length + 1);
                byte[] out = new byte[b.length + 1];
                System.arraycopy(b, 0, out, 0, at);
                String alphabet = "{}[]\",:\\ 0e-";
                out[at] = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
                System.arraycopy(b, at, out, at + 1, b.length - at);
                b = out;
            }
            default -> {
                if (b.length > 2) {
                    int from = random.nextInt(b.length - 1);
                    int to = from + 1 + random.nextInt(b.length - from - 1);
                    byte[] out = new byte[b.length - (to - from)];
                    System.arraycopy(b, 0, out, 0, from);
                    System.arraycopy(b, to, out, from, b.length - to);
                    b = out;
                }
            }
        }
        return b;
    }

    @Test
    void mutatedDocumentsNeverThrowAnythingButInvalidRequest() {
        Random random = new Random(20261125L);
        int rejected = 0;
        for (int i = 0; i < 4_000; i++) {
            byte[] input = mutate(SEEDS[random.nextInt(SEEDS.length)], random);
            for (ApiType api : ApiType.values()) {
                try {
                    ParsedRequest r = OpenAiRequestParser.parse(api, input, input.length);
                    assertTrue(r.prompt().offset() + r.prompt().length() <= input.length);
                    assertTrue(r.modelStart() >= 0 && r.modelEnd() <= input.length);
                } catch (InvalidRequestException e) {
                    rejected++;
                    assertNotNull(e.getMessage());
                }
            }
            UsageParser.parse(input, 0, input.length);
            SseUsageScanner scanner = new SseUsageScanner();
            scanner.feed(input, 0, input.length);
            scanner.finish();
            ModelNames.rewriteResponse(input, 0, input.length, "t", "in");
        }
        assertTrue(rejected > 0, "the mutations must produce invalid documents too");
    }
}
