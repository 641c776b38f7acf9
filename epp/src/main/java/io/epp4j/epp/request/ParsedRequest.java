package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

/**
 * What the EPP needs from one request, as its {@link RequestParser} read it: found in one pass, without building a
 * tree, the prompt left in the body array. Immutable.
 *
 * @param api the API (from the path and the parser)
 * @param model the model the body names ("" when the protocol carries none in the body: gRPC, SGLang's
 *     {@code /generate}, a body not read; the {@code x-gateway-model-name-rewrite} header then names the target)
 * @param modelStart offset of the opening quote of the model's JSON string in the body, or -1 when the body holds
 *     no model to rewrite
 * @param modelEnd offset just past its closing quote (so the value can be spliced when the model is rewritten)
 * @param stream whether the request asked for a streamed response
 * @param cacheSalt the prefix-cache isolation key ({@code cache_salt}, SGLang's {@code extra_key}), or ""
 * @param prompt the bytes that identify the prompt for prefix-cache affinity (the raw JSON of {@code messages} for
 *     chat, the prompt for completions, Anthropic's {@code system} then {@code messages}, a generate request's token
 *     ids or text); usually a view into the body, not a copy; empty when the body was not read
 * @param bodyBytes the body's size in bytes (for a body not read, as it streams through: its
 *     {@code content-length}, else 0)
 * @param tokenIds the prompt's token ids when the body carried them, else null
 */
public record ParsedRequest(ApiType api, String model, int modelStart, int modelEnd, boolean stream,
                            String cacheSalt, ByteSlice prompt, long bodyBytes, int[] tokenIds) {

    /** A request whose body carried no token ids. */
    public ParsedRequest(ApiType api, String model, int modelStart, int modelEnd, boolean stream, String cacheSalt,
                         ByteSlice prompt, long bodyBytes) {
        this(api, model, modelStart, modelEnd, stream, cacheSalt, prompt, bodyBytes, null);
    }

    /** A request routed without reading its body: no prompt, no model in the body. */
    public static ParsedRequest unread(String model, long contentLength) {
        return new ParsedRequest(ApiType.OTHER, model, -1, -1, false, "", ByteSlice.EMPTY, contentLength);
    }

    /** A body that was read but whose prompt the parser does not interpret (e.g. Anthropic's count_tokens). */
    public static ParsedRequest uninterpreted(String model, int length) {
        return new ParsedRequest(ApiType.OTHER, model, -1, -1, false, "", ByteSlice.EMPTY, length);
    }

    /** Whether the model name can be rewritten in the body ({@code modelStart} is known). */
    public boolean modelInBody() {
        return modelStart >= 0;
    }
}
