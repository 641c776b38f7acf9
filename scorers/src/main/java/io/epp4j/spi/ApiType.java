package io.epp4j.spi;

/**
 * The API a request targets, from its path and the parser that read it: the OpenAI-compatible ones, Anthropic's
 * Messages API, the engines' native generate endpoints (vLLM's {@code /inference/v1/generate} and gRPC
 * {@code Generate}, SGLang's {@code /generate}), and {@link #OTHER} for a body the EPP did not read.
 */
public enum ApiType {
    COMPLETIONS, CHAT_COMPLETIONS, RESPONSES, CONVERSATIONS, EMBEDDINGS,
    /** Anthropic's {@code /v1/messages}. */
    MESSAGES,
    /** A native generate endpoint; the prompt is text or token ids. */
    GENERATE,
    /** A request routed without reading its body ({@code passthrough-parser}, or a path no parser reads). */
    OTHER
}
