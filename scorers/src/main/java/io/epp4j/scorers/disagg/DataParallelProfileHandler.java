package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.profile.SingleProfileHandler;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.UpstreamHeaders;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code data-parallel-profile-handler}: for gateways that route to one port per pod while each data-parallel rank
 * of a vLLM pod listens on its own port (the InferencePool lists one target port per rank, so each rank is an
 * endpoint). Runs the configuration's only profile, sends the request to the picked pod's {@code primaryPort}
 * (default 8000, 1-65535) and names the picked rank in {@code x-data-parallel-host-port}, which the pod's sidecar
 * forwards to (a copy the client sent is replaced or removed). llm-d deprecates it for
 * {@code single-profile-handler} on gateways that route to every target port.
 */
public final class DataParallelProfileHandler extends NamedPlugin implements ProfileHandler, PreRequest {

    public static final String TYPE = "data-parallel-profile-handler";

    private final int primaryPort;

    public DataParallelProfileHandler(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.primaryPort = parameters.getInt("primaryPort", 8000);
        if (primaryPort < 1 || primaryPort > 65535) {
            throw new IllegalArgumentException("parameter 'primaryPort' must be in 1-65535, got " + primaryPort);
        }
    }

    @Override
    public List<String> pickProfiles(CycleState state, InferenceRequest request, List<String> profiles,
                                     Map<String, List<Endpoint>> results) {
        return SingleProfileHandler.runOnce(profiles, results);
    }

    @Override
    public String primaryProfile(CycleState state, InferenceRequest request, Map<String, List<Endpoint>> results) {
        return SingleProfileHandler.firstWithPick(results);
    }

    @Override
    public int maxProfiles() {
        return 1;
    }

    @Override
    public List<Endpoint> routeTo(CycleState state, InferenceRequest request, List<Endpoint> picked) {
        return onPort(picked, primaryPort);
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        UpstreamHeaders headers = state.get(UpstreamHeaders.KEY);
        if (headers == null) {
            return;
        }
        headers.remove(DisaggHeaders.DATA_PARALLEL);
        List<Endpoint> picked = result.profile(result.primaryProfile());
        if (!picked.isEmpty()) {
            headers.set(DisaggHeaders.DATA_PARALLEL, picked.get(0).hostPort());
        }
    }

    /** The endpoints with their port replaced by {@code port} (same name, so in-flight load stays per rank). */
    static List<Endpoint> onPort(List<Endpoint> endpoints, int port) {
        List<Endpoint> out = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            EndpointInfo i = e.info();
            out.add(i.port() == port ? e : new Endpoint(new EndpointInfo(i.name(), i.namespace(), i.podName(),
                    i.ip(), port, i.labels()), e.metrics(), e.inFlightRequests(), e.inFlightTokens()));
        }
        return out;
    }
}
