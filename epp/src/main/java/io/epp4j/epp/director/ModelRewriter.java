package io.epp4j.epp.director;

/**
 * Chooses the model a request is served as, from InferenceModelRewrite rules. Thread-safe; reads an immutable
 * snapshot of the rules.
 */
public interface ModelRewriter {

    /** A rule's choice for one request: the InferenceModelRewrite whose rule matched, and the model it drew. */
    record Choice(String rewriteName, String targetModel) {
    }

    /** No rewrite rules (static endpoints): the model stays as requested. */
    ModelRewriter NONE = model -> null;

    /** The matching rule's choice for an incoming model name, or null when no rule applies to it. */
    Choice rewrite(String incomingModel);
}
