package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

import java.util.Map;
import java.util.Set;

/**
 * The parsers of the engines' native HTTP generate endpoints, whose prompt is already token ids: the raw JSON of the
 * id array is the prompt for prefix affinity (a longer prompt that shares a prefix of ids shares a prefix of bytes).
 */
final class GenerateParsers {

    private GenerateParsers() {
    }

    /**
     * {@code vllmhttp-parser}: vLLM's {@code /inference/v1/generate}, a JSON body with a non-empty {@code token_ids}
     * array and optionally {@code model}, {@code stream} and {@code cache_salt}. Thread-safe.
     */
    static final class VllmHttp implements RequestParser {

        static final String TYPE = "vllmhttp-parser";
        static final String PATH = "inference/v1/generate";
        private static final Set<String> FIELDS = Set.of("model", "token_ids", "stream", "cache_salt");
        private static final String WHAT = "generate request";

        @Override
        public ParsedRequest parse(Map<String, String> headers, byte[] body, int length)
                throws InvalidRequestException {
            String path = ApiPaths.path(headers);
            if (!ApiPaths.matchesSuffix(path, PATH)) {
                throw new InvalidRequestException("unsupported path: " + path);
            }
            JsonFields f = JsonFields.read(body, length, FIELDS, WHAT);
            JsonFields.Value ids = f.get("token_ids");
            int[] tokens = ids == null || !ids.isArray() ? new int[0]
                    : JsonFields.tokenIds(body, ids, "token_ids", WHAT);
            if (tokens.length == 0) {
                throw new InvalidRequestException("invalid generate request: must have non-empty token_ids field");
            }
            JsonFields.Value model = f.get("model");
            boolean named = model != null && model.isString();
            JsonFields.Value stream = f.get("stream");
            return new ParsedRequest(ApiType.GENERATE, named ? model.text() : "", named ? model.start() : -1,
                    named ? model.end() : -1, stream != null && stream.isTrue(), f.string("cache_salt"),
                    new ByteSlice(body, ids.start(), ids.end() - ids.start()), length, tokens);
        }
    }

    /**
     * {@code sglanghttp-parser}: SGLang's {@code /generate}, a JSON body with a non-empty {@code input_ids} array
     * (one prompt) or, beyond llm-d's parser, a non-empty {@code text}; {@code extra_key} is the cache salt. The body
     * names no model. Thread-safe.
     */
    static final class SglangHttp implements RequestParser {

        static final String TYPE = "sglanghttp-parser";
        static final String PATH = "generate";
        private static final Set<String> FIELDS = Set.of("input_ids", "text", "stream", "extra_key");
        private static final String WHAT = "generate request";

        @Override
        public ParsedRequest parse(Map<String, String> headers, byte[] body, int length)
                throws InvalidRequestException {
            String path = ApiPaths.path(headers);
            if (!ApiPaths.trimSlashes(path).equals(PATH)) {
                throw new InvalidRequestException("unsupported path: " + path);
            }
            JsonFields f = JsonFields.read(body, length, FIELDS, WHAT);
            JsonFields.Value extraKey = f.get("extra_key");
            if (extraKey != null && !extraKey.isString()) {
                throw new InvalidRequestException("unsupported generate request: extra_key must be a string");
            }
            JsonFields.Value prompt = f.get("input_ids");
            int[] tokens = null;
            if (prompt != null) {
                tokens = prompt.isArray() ? JsonFields.tokenIds(body, prompt, "input_ids", WHAT) : new int[0];
                if (tokens.length == 0) {
                    throw new InvalidRequestException("invalid generate request: input_ids cannot be empty");
                }
            } else {
                prompt = f.get("text");
                if (prompt == null || !prompt.isString() || prompt.text().isEmpty()) {
                    throw new InvalidRequestException("invalid generate request: input_ids must be provided");
                }
            }
            JsonFields.Value stream = f.get("stream");
            return new ParsedRequest(ApiType.GENERATE, "", -1, -1, stream != null && stream.isTrue(),
                    f.string("extra_key"), new ByteSlice(body, prompt.start(), prompt.end() - prompt.start()),
                    length, tokens);
        }
    }
}
