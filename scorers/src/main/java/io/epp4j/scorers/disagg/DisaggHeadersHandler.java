package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.UpstreamHeaders;

/**
 * {@code disagg-headers-handler} (alias {@code prefill-header-handler}, both deprecated in llm-d, where
 * {@code disagg-profile-handler} writes the headers itself): sets {@code x-prefiller-host-port} to the first pick of
 * profile {@code prefillProfile} (default {@code prefill}) and {@code x-encoder-hosts-ports} to every pick of
 * {@code encodeProfile} (default {@code encode}), after removing any copy the client sent.
 */
public final class DisaggHeadersHandler extends NamedPlugin implements PreRequest {

    public static final String TYPE = "disagg-headers-handler";
    public static final String ALIAS = "prefill-header-handler";

    private final String prefillProfile;
    private final String encodeProfile;

    public DisaggHeadersHandler(String type, String name, PluginParameters parameters) {
        super(type, name);
        this.prefillProfile = parameters.getString("prefillProfile", "prefill");
        this.encodeProfile = parameters.getString("encodeProfile", "encode");
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        UpstreamHeaders headers = state.get(UpstreamHeaders.KEY);
        if (headers != null) {
            DisaggProfileHandler.writeHeaders(headers, result, prefillProfile, encodeProfile);
        }
    }
}
