package io.epp4j.epp.precise;

import io.epp4j.spi.InferenceRequest;

import java.io.IOException;

/**
 * Turns a request's prompt into the token ids the serving engine will see (chat template applied), so that the
 * precise prefix index, keyed on the engine's token ids, can be looked up. Thread-safe; may block on I/O.
 */
public interface Tokenizer {

    /** The prompt's token ids; throws when the tokenizer cannot answer (the request is then scored approximately). */
    int[] tokenize(InferenceRequest request) throws IOException;

    /**
     * The prompt's token ids, or only its first ones when that is all the tokenizer can give without a round trip
     * (a prefix lookup needs no more); by default the whole prompt's.
     */
    default TokenizedPrompt tokenizePrompt(InferenceRequest request) throws IOException {
        return new TokenizedPrompt(tokenize(request));
    }
}
