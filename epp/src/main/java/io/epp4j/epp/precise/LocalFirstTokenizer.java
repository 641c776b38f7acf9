package io.epp4j.epp.precise;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.InferenceRequest;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.IOException;
import java.util.Arrays;

/**
 * Tokenizes a completions request's prompt in process with the model's {@code tokenizer.json}
 * ({@link HfTokenizer}, special tokens added as vLLM's completions endpoint adds them; a prompt given as token ids
 * is taken as it is), and leaves what needs the model server to {@code server}: chat requests, whose chat template
 * only the server applies, and prompts of any other shape (a list of prompts).
 */
final class LocalFirstTokenizer implements Tokenizer {

    private static final JsonFactory JSON = new JsonFactory();

    private final HfTokenizer local;
    private final Tokenizer server;

    LocalFirstTokenizer(HfTokenizer local, Tokenizer server) {
        this.local = local;
        this.server = server;
    }

    @Override
    public int[] tokenize(InferenceRequest request) throws IOException {
        int[] ids = inProcess(request);
        return ids != null ? ids : server.tokenize(request);
    }

    @Override
    public TokenizedPrompt tokenizePrompt(InferenceRequest request) throws IOException {
        int[] ids = inProcess(request);
        return ids != null ? new TokenizedPrompt(ids) : server.tokenizePrompt(request);
    }

    /** The prompt's ids when they need no server, else null. */
    private int[] inProcess(InferenceRequest request) throws IOException {
        if (request.api() == ApiType.COMPLETIONS) {
            ByteSlice p = request.prompt();
            try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), p.array(), p.offset(), p.length())) {
                JsonToken t = parser.nextToken();
                if (t == JsonToken.VALUE_STRING) {
                    return local.encode(parser.getString(), true);
                }
                if (t == JsonToken.START_ARRAY) {
                    int[] ids = new int[64];
                    int n = 0;
                    while (parser.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                        if (n == ids.length) {
                            ids = Arrays.copyOf(ids, n * 2);
                        }
                        ids[n++] = parser.getIntValue();
                    }
                    if (parser.currentToken() == JsonToken.END_ARRAY && n > 0) {
                        return Arrays.copyOf(ids, n);
                    }
                }
            } catch (JacksonException e) {
                throw new IOException("unreadable prompt: " + e.getOriginalMessage(), e);
            }
        }
        return null;
    }
}
