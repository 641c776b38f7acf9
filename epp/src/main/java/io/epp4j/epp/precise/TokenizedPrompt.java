package io.epp4j.epp.precise;

import io.epp4j.spi.CycleState;

/**
 * The request's token ids, left in the {@link CycleState} by {@code token-producer} for the precise producer.
 * {@code tokenIds} may be only the prompt's first tokens (taken from an earlier prompt this one extends, without a
 * round trip to the tokenizer); {@code totalTokens} is then an estimate of the whole prompt's, else their count.
 */
public record TokenizedPrompt(int[] tokenIds, int totalTokens) {

    public static final CycleState.Key<TokenizedPrompt> KEY = new CycleState.Key<>("tokenized-prompt");

    /** A whole prompt's tokens. */
    public TokenizedPrompt(int[] tokenIds) {
        this(tokenIds, tokenIds.length);
    }

    public TokenizedPrompt {
        totalTokens = Math.max(totalTokens, tokenIds.length);
    }
}
