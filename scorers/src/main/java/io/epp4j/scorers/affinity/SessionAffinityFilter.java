package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.SchedulingResult;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code session-affinity-filter} (llm-d): pins the requests of a session to the pod that served it, as a hard
 * constraint. When the session's pod is a candidate, only that pod's endpoints stay; when there is no session, or its
 * pod is no longer a candidate, every candidate stays, so the filter never empties the list.
 *
 * <p>{@code strategy: encoded_endpoint_header} (default) is stateless: the request header
 * {@code encodedEndpointHeaderConfig.header} (default {@code x-session-token}) carries base64({@code namespace/pod})
 * and the filter sets the same response header to the pod that served the request. {@code strategy: session_id}
 * keeps a server-side binding from a client session id to the pod it was routed to, refreshed on use and dropped
 * after {@code sessionIdConfig.evictionTtlSeconds} (300) unused, swept every {@code evictionSweepSeconds} (10). The
 * id is read from {@code sessionIdConfig.sources} in order (default one source, header {@code x-session-id});
 * {@code attribute} sources name request attributes, which epp4j does not publish: they are skipped, with a warning
 * at start-up. With {@code profileName} the pod is the pick of that profile (e.g. {@code prefill}) instead of the
 * primary one.
 */
public final class SessionAffinityFilter extends NamedPlugin implements Filter, PreRequest, ResponseObserver {

    public static final String TYPE = "session-affinity-filter";
    static final String ENCODED = "encoded_endpoint_header";
    static final String SESSION_ID = "session_id";

    private final boolean encoded;
    private final String tokenHeader;
    private final List<String> idHeaders;
    private final String profileName;
    private final long ttlMillis;
    private final long sweepMillis;
    private final Clock clock;
    private final ConcurrentHashMap<String, Binding> bindings = new ConcurrentHashMap<>();
    private volatile long nextSweepMillis;

    /** The pod a session is bound to and when the binding was last used. */
    private static final class Binding {
        final String podKey;
        volatile long usedMillis;

        Binding(String podKey, long usedMillis) {
            this.podKey = podKey;
            this.usedMillis = usedMillis;
        }
    }

    public SessionAffinityFilter(String name, PluginParameters parameters, Clock clock) {
        super(TYPE, name);
        String strategy = parameters.getString("strategy", ENCODED);
        if (!strategy.equals(ENCODED) && !strategy.equals(SESSION_ID)) {
            throw new IllegalArgumentException("parameter 'strategy' must be " + ENCODED + " or " + SESSION_ID
                    + ", got '" + strategy + "'");
        }
        this.encoded = strategy.equals(ENCODED);
        this.clock = clock;
        this.profileName = parameters.getString("profileName", "");
        PluginParameters header = new PluginParameters(parameters.getMap("encodedEndpointHeaderConfig"));
        this.tokenHeader = header.getString("header", SessionAffinityScorer.HEADER).trim().toLowerCase(Locale.ROOT);
        PluginParameters session = new PluginParameters(parameters.getMap("sessionIdConfig"));
        this.ttlMillis = (long) (session.getDouble("evictionTtlSeconds", 300) * 1000);
        this.sweepMillis = (long) (session.getDouble("evictionSweepSeconds", 10) * 1000);
        if (ttlMillis <= 0 || sweepMillis <= 0) {
            throw new IllegalArgumentException("sessionIdConfig.evictionTtlSeconds and evictionSweepSeconds must be > 0");
        }
        this.idHeaders = idHeaders(session.asMap().get("sources"), name);
        this.nextSweepMillis = clock.millis() + sweepMillis;
    }

    private static List<String> idHeaders(Object sources, String name) {
        if (sources == null) {
            return List.of("x-session-id");
        }
        if (!(sources instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("sessionIdConfig.sources must be a non-empty list");
        }
        List<String> headers = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m) || m.size() != 1
                    || !(m.containsKey("header") || m.containsKey("attribute"))) {
                throw new IllegalArgumentException("each of sessionIdConfig.sources sets exactly one of 'header'"
                        + " or 'attribute'");
            }
            if (m.containsKey("header")) {
                headers.add(String.valueOf(m.get("header")).trim().toLowerCase(Locale.ROOT));
            } else {
                new WarnOnce(SessionAffinityFilter.class).warn("{}: session id source attribute '{}' is skipped:"
                        + " epp4j publishes no request attributes", name, m.get("attribute"));
            }
        }
        return List.copyOf(headers);
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        String pod = encoded ? decodedToken(request) : boundPod(request);
        if (pod == null) {
            return endpoints;
        }
        List<Endpoint> pinned = new ArrayList<>(1);
        for (Endpoint e : endpoints) {
            if (pod.equals(SessionAffinityScorer.podKey(e))) {
                pinned.add(e);
            }
        }
        return pinned.isEmpty() ? endpoints : pinned;
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        if (encoded) {
            return;
        }
        String id = sessionId(request);
        Endpoint served = served(state, result.primary());
        if (id != null && served != null) {
            bindings.put(id, new Binding(SessionAffinityScorer.podKey(served), clock.millis()));
        }
        sweepIfDue();
    }

    @Override
    public void onResponseHeaders(CycleState state, InferenceRequest request, Endpoint target,
                                  ResponseHeaders response) {
        Endpoint served = served(state, target);
        if (encoded && served != null) {
            response.set(tokenHeader, Base64.getEncoder().encodeToString(
                    SessionAffinityScorer.podKey(served).getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** The endpoint this instance pins to: the pick of {@code profileName}, or the primary target. */
    private Endpoint served(CycleState state, Endpoint primary) {
        if (profileName.isEmpty()) {
            return primary;
        }
        Map<String, List<Endpoint>> picks = state.get(CycleState.PROFILE_PICKS);
        List<Endpoint> picked = picks == null ? null : picks.get(profileName);
        return picked == null || picked.isEmpty() ? null : picked.get(0);
    }

    private String decodedToken(InferenceRequest request) {
        String token = request.header(tokenHeader);
        if (token == null || token.isBlank()) {
            return null;
        }
        try {
            return new String(Base64.getDecoder().decode(token.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException notBase64) {
            return null;
        }
    }

    private String boundPod(InferenceRequest request) {
        String id = sessionId(request);
        Binding b = id == null ? null : bindings.get(id);
        long now = clock.millis();
        if (b == null || now - b.usedMillis > ttlMillis) {
            return null;
        }
        b.usedMillis = now;
        return b.podKey;
    }

    private String sessionId(InferenceRequest request) {
        for (String h : idHeaders) {
            String v = request.header(h);
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }

    private void sweepIfDue() {
        long now = clock.millis();
        if (now < nextSweepMillis) {
            return;
        }
        nextSweepMillis = now + sweepMillis;
        bindings.values().removeIf(b -> now - b.usedMillis > ttlMillis);
    }

    /** Live session bindings (for tests and the debug page). */
    int boundSessions() {
        return bindings.size();
    }
}
