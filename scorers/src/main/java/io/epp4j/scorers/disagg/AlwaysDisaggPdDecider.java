package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;

/** {@code always-disagg-pd-decider}: every request is prefilled on a prefill pod. No parameters. */
public final class AlwaysDisaggPdDecider extends NamedPlugin implements PdDecider {

    public static final String TYPE = "always-disagg-pd-decider";

    public AlwaysDisaggPdDecider(String name) {
        super(TYPE, name);
    }

    @Override
    public boolean disaggregate(CycleState state, InferenceRequest request, Endpoint decode) {
        return true;
    }
}
