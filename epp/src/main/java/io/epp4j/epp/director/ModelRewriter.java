package io.epp4j.epp.director;

/**
 * Chooses the model a request is served as, from InferenceModelRewrite rules. Thread-safe; reads an immutable
 * snapshot of the rules.
 */
public interface ModelRewriter {

    /** No rewrite rules (static endpoints): the model stays as requested. */
    ModelRewriter NONE = model -> model;

    /** The target model for an incoming model name; the same name when no rule matches. */
    String rewrite(String incomingModel);
}
