package io.epp4j.epp.request;

import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;

/**
 * What the EPP needs from an OpenAI request body, found in one pass without building a tree.
 *
 * @param api the API (from the path)
 * @param model the top-level {@code model}
 * @param modelStart offset of the opening quote of the model's JSON string in the body
 * @param modelEnd offset just past its closing quote (so the value can be spliced when the model is rewritten)
 * @param stream whether {@code "stream": true}
 * @param cacheSalt {@code cache_salt}, or ""
 * @param prompt the raw JSON of {@code messages} (chat), {@code prompt} (completions), {@code input}
 *     (responses, embeddings) or {@code items} (conversations): a view into the body, not a copy
 * @param bodyBytes the body's size in bytes
 */
public record OpenAiRequest(ApiType api, String model, int modelStart, int modelEnd, boolean stream,
                            String cacheSalt, ByteSlice prompt, long bodyBytes) {
}
