package io.epp4j.epp.bbr;

/** Maps a request's model (a base model or a LoRA adapter) to the base model it runs on. Thread-safe. */
@FunctionalInterface
public interface BaseModelLookup {

    /** No mapping: every model is a miss. */
    BaseModelLookup NONE = request -> null;

    /** The base model of {@code request.model()}, or null when the mapping has none; never throws. */
    String baseModel(BbrRequest request);
}
