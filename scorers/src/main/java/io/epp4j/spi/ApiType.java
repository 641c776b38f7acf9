package io.epp4j.spi;

/** The OpenAI-compatible API a request targets, from its path. */
public enum ApiType {
    COMPLETIONS, CHAT_COMPLETIONS, RESPONSES, CONVERSATIONS, EMBEDDINGS
}
