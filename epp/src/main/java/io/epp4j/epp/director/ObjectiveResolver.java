package io.epp4j.epp.director;

/**
 * Resolves the InferenceObjective named by a request's {@code x-gateway-inference-objective} header to its
 * priority. Thread-safe; reads an immutable snapshot.
 */
public interface ObjectiveResolver {

    /** No objectives known (static endpoints): every request has priority 0. */
    ObjectiveResolver NONE = name -> 0;

    /** The priority of the named objective; 0 when the name is null, empty or unknown (GAIE's default). */
    int priorityOf(String objectiveName);
}
