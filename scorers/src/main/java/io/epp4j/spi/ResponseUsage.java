package io.epp4j.spi;

/**
 * Token usage reported by the model server in its response ({@code usage}), -1 where absent.
 *
 * @param promptTokens prompt_tokens (or input_tokens)
 * @param completionTokens completion_tokens (or output_tokens)
 * @param cachedTokens usage.prompt_tokens_details.cached_tokens
 * @param totalTokens total_tokens
 */
public record ResponseUsage(long promptTokens, long completionTokens, long cachedTokens, long totalTokens) {

    public static final ResponseUsage NONE = new ResponseUsage(-1, -1, -1, -1);
}
