package io.epp4j.scorers.disagg;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Plugin;

/**
 * Decides whether one request runs an extra disaggregation stage (a prefill pod computes its prompt, or an encode
 * pod its images) besides the decode pod already picked. Named by a profile handler's {@code deciders}. Called
 * concurrently for different requests; must not block; a decider that cannot tell answers false (decode-only).
 */
public interface PdDecider extends Plugin {

    /**
     * @param decode the decode endpoint already picked, or null when the stage runs before decode
     *     ({@code stageOrder: prefill-first})
     */
    boolean disaggregate(CycleState state, InferenceRequest request, Endpoint decode);
}
