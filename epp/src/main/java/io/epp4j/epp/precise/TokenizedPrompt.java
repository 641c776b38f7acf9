package io.epp4j.epp.precise;

import io.epp4j.spi.CycleState;

/** The request's token ids, left in the {@link CycleState} by {@code token-producer} for the precise producer. */
public record TokenizedPrompt(int[] tokenIds) {

    public static final CycleState.Key<TokenizedPrompt> KEY = new CycleState.Key<>("tokenized-prompt");
}
