package io.epp4j.spi;

import java.util.Map;

/**
 * What the scheduler knows of one inference request; immutable.
 *
 * @param requestId the x-request-id (generated when the client sent none)
 * @param api the API, from the path
 * @param model the model named in the body ({@code "model"})
 * @param targetModel the model the request will be served as (after x-gateway-model-name-rewrite or an
 *     InferenceModelRewrite); equal to {@code model} when nothing rewrote it
 * @param prompt the bytes that identify the prompt for prefix-cache affinity (the raw JSON of {@code messages}
 *     for chat, the prompt for completions, and so on), a view into the request body
 * @param cacheSalt the body's {@code cache_salt}, or ""
 * @param stream whether the body asked for a streamed response
 * @param priority the InferenceObjective priority (0 when none; negative means sheddable)
 * @param fairnessId the x-gateway-inference-fairness-id, or "default-flow"
 * @param headers request headers, lower-case keys
 * @param bodySizeBytes size of the request body in bytes
 * @param promptTokenIds the prompt's token ids when the request carried them (vLLM's generate {@code token_ids},
 *     SGLang's {@code input_ids}, a vLLM gRPC tokenized input), else null; do not modify
 */
public record InferenceRequest(
        String requestId,
        ApiType api,
        String model,
        String targetModel,
        ByteSlice prompt,
        String cacheSalt,
        boolean stream,
        int priority,
        String fairnessId,
        Map<String, String> headers,
        long bodySizeBytes,
        int[] promptTokenIds) {

    public InferenceRequest {
        headers = Map.copyOf(headers);
    }

    /** A request whose body carried no token ids. */
    public InferenceRequest(String requestId, ApiType api, String model, String targetModel, ByteSlice prompt,
                            String cacheSalt, boolean stream, int priority, String fairnessId,
                            Map<String, String> headers, long bodySizeBytes) {
        this(requestId, api, model, targetModel, prompt, cacheSalt, stream, priority, fairnessId, headers,
                bodySizeBytes, null);
    }

    /** A header value (lower-case name), or null. */
    public String header(String name) {
        return headers.get(name);
    }

    /** A rough token estimate of the prompt (4 bytes a token), the same estimate GAIE uses. */
    public long estimatedPromptTokens() {
        return prompt.length() / 4;
    }
}
