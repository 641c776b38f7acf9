package io.epp4j.epp.precise;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.InferenceRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HfTokenizer} gives the ids the Hugging Face tokenizers library gives: three small tokenizers laid out as
 * Qwen 2/3, Llama 3 and GPT-2 ship theirs, and the library's own answers for texts with special tokens, Unicode
 * that NFC composes, CJK, emoji, digits, contractions, whitespace runs and line ends
 * ({@code src/test/resources/tokenizers}, made by its {@code generate.py}).
 */
class HfTokenizerTest {

    private static final JsonFactory JSON = new JsonFactory();
    private static final Map<String, HfTokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = HfTokenizerTest.class.getResourceAsStream("/tokenizers/" + name)) {
            return in.readAllBytes();
        }
    }

    /** (fixture, text, ids) from cases.json. */
    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), resource("cases.json"))) {
            p.nextToken();
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String fixture = p.currentName();
                p.nextToken();
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    String text = null;
                    List<Integer> ids = new ArrayList<>();
                    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                        String field = p.currentName();
                        p.nextToken();
                        if (field.equals("text")) {
                            text = p.getString();
                        } else {
                            while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                                ids.add(p.getIntValue());
                            }
                        }
                    }
                    out.add(Arguments.of(fixture, text, ids.stream().mapToInt(Integer::intValue).toArray()));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void encodesAsTheTokenizersLibraryDoes(String fixture, String text, int[] expected) throws IOException {
        HfTokenizer tokenizer = LOADED.get(fixture);
        if (tokenizer == null) {
            tokenizer = HfTokenizer.parse(resource(fixture + ".json"));
            LOADED.put(fixture, tokenizer);
        }
        assertArrayEquals(expected, tokenizer.encode(text, true), text);
        // again: every piece now comes from the cache
        assertArrayEquals(expected, tokenizer.encode(text, true), text);
    }

    @Test
    void specialTokensOfThePostProcessorAreAddedOnlyWhenAsked() throws IOException {
        HfTokenizer llama = HfTokenizer.parse(resource("llama3-style.json"));
        int[] with = llama.encode("Hello world", true);
        int[] without = llama.encode("Hello world", false);
        assertEquals(without.length + 1, with.length, "Llama 3's template adds the begin-of-text token");
        assertArrayEquals(without, java.util.Arrays.copyOfRange(with, 1, with.length));
    }

    @Test
    void emptySubwordPrefixAndSuffixAsQwenShipsThemAreNone() throws IOException {
        // Qwen 2/3's published tokenizer.json carries "continuing_subword_prefix": "" and "end_of_word_suffix": ""
        String qwen = new String(resource("qwen-style.json"), StandardCharsets.UTF_8);
        String empty = qwen.replace("\"continuing_subword_prefix\": null", "\"continuing_subword_prefix\": \"\"")
                .replace("\"end_of_word_suffix\": null", "\"end_of_word_suffix\": \"\"");
        assertTrue(!empty.equals(qwen), "the fixture names both fields");
        String text = "Hello world, I'm here!  12345 <|im_start|>user\n你好 🙂 café";
        assertArrayEquals(HfTokenizer.parse(resource("qwen-style.json")).encode(text, true),
                HfTokenizer.parse(empty.getBytes(StandardCharsets.UTF_8)).encode(text, true));
        String wordPieceStyle = qwen.replace("\"continuing_subword_prefix\": null",
                "\"continuing_subword_prefix\": \"##\"");
        IOException e = assertThrows(IOException.class,
                () -> HfTokenizer.parse(wordPieceStyle.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("continuing_subword_prefix"), e.getMessage());
    }

    @Test
    void aTokenizerItCannotApplyFaithfullyIsRefusedWhenLoaded() {
        String wordPiece = "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}";
        IOException e = assertThrows(IOException.class,
                () -> HfTokenizer.parse(wordPiece.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        String metaspace = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},"
                + "\"pre_tokenizer\":{\"type\":\"Metaspace\"}}";
        e = assertThrows(IOException.class, () -> HfTokenizer.parse(metaspace.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("Metaspace"), e.getMessage());
        assertThrows(IOException.class, () -> HfTokenizer.parse("[1, 2".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void tokenProducerTokenizesCompletionsInProcessAndLeavesChatToTheServer() throws Exception {
        HfTokenizer qwen = HfTokenizer.parse(resource("qwen-style.json"));
        List<InferenceRequest> toServer = new ArrayList<>();
        Tokenizer tokenizer = new LocalFirstTokenizer(qwen, request -> {
            toServer.add(request);
            return new int[] {7, 7, 7};
        });
        String prompt = "<|im_start|>user\nHow do KV events reach the EPP?<|im_end|>\n";
        assertArrayEquals(qwen.encode(prompt, true), tokenizer.tokenize(request(ApiType.COMPLETIONS,
                "\"" + prompt.replace("\n", "\\n") + "\"")));
        assertArrayEquals(new int[] {5, 6, 7}, tokenizer.tokenize(request(ApiType.COMPLETIONS, "[5, 6, 7]")),
                "a prompt of token ids is taken as it is");
        assertTrue(toServer.isEmpty());
        assertArrayEquals(new int[] {7, 7, 7}, tokenizer.tokenize(request(ApiType.CHAT_COMPLETIONS,
                "[{\"role\":\"user\",\"content\":\"hi\"}]")), "the chat template is the server's");
        assertEquals(1, toServer.size());
    }

    @Test
    void aMissingTokenizerFileIsAConfigurationError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TokenProducer(
                TokenProducer.TYPE, "tok", new io.epp4j.spi.PluginParameters(Map.of("modelName", "m",
                "tokenizerFile", Path.of("no-such-dir", "tokenizer.json").toString())), null));
        assertTrue(e.getMessage().contains("tokenizerFile"), e.getMessage());
    }

    private static InferenceRequest request(ApiType api, String promptJson) {
        return new InferenceRequest("r", api, "m", "m", ByteSlice.of(promptJson), "", false, 0, "default-flow",
                Map.of(), promptJson.length());
    }
}
