package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.Scorer;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * {@code session-affinity-scorer} (llm-d): request header {@code x-session-token} = base64({@code namespace/pod});
 * 1.0 for that pod, 0 for the others. Sets the same response header to the pod that served the request, so the
 * client can send it back. No parameters.
 */
public final class SessionAffinityScorer extends NamedPlugin implements Scorer, ResponseObserver {

    public static final String TYPE = "session-affinity-scorer";
    public static final String HEADER = "x-session-token";

    public SessionAffinityScorer(String name) {
        super(TYPE, name);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        String token = request.header(HEADER);
        String wanted = null;
        if (token != null && !token.isBlank()) {
            try {
                wanted = new String(Base64.getDecoder().decode(token.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException badToken) {
                wanted = null;
            }
        }
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            scores[i] = wanted != null && wanted.equals(podKey(endpoints.get(i))) ? 1.0 : 0.0;
        }
    }

    @Override
    public void onResponseHeaders(CycleState state, InferenceRequest request, Endpoint target,
                                  ResponseHeaders response) {
        if (target != null) {
            response.set(HEADER, Base64.getEncoder().encodeToString(podKey(target).getBytes(StandardCharsets.UTF_8)));
        }
    }

    static String podKey(Endpoint endpoint) {
        String pod = endpoint.info().podName().isEmpty() ? endpoint.info().name() : endpoint.info().podName();
        return endpoint.info().namespace() + "/" + pod;
    }
}
