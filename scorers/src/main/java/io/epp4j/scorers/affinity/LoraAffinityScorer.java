package io.epp4j.scorers.affinity;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.Scorer;
import io.epp4j.spi.SchedulingResult;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code lora-affinity-scorer}: for the request's target model, adapter active ⇒ 1.0; else a free adapter slot
 * ({@code |active| + |waiting| < maxActive}) ⇒ 0.8; else adapter waiting ⇒ 0.6; else 0.
 *
 * <p>Parameter {@code countInFlight} (epp4j; default false, GAIE's scorer reads the scrape only): also count the
 * adapters of the requests this EPP has sent to each endpoint and that have not finished, from the pick to the
 * end of the response. The scrape is up to one interval old, so without this two adapters picked for an endpoint
 * within one interval both see its last free slot, and the second waits there for the first one's requests to
 * end. With it, an endpoint's adapters are the scraped active and waiting ones plus this EPP's in-flight ones;
 * an in-flight adapter counts as active while the endpoint's active and in-flight adapters fit its slots.
 * Only models seen in some endpoint's scraped adapter lists are counted (base-model requests hold no slot).
 */
public final class LoraAffinityScorer extends NamedPlugin implements Scorer, PreRequest, ResponseObserver {

    public static final String TYPE = "lora-affinity-scorer";

    /** Bound on the adapter names learned from scrapes, so that garbage metrics cannot grow it without limit. */
    static final int MAX_KNOWN_ADAPTERS = 10_000;

    private static final CycleState.Key<InFlight> IN_FLIGHT = new CycleState.Key<>("lora-affinity-in-flight");

    private final boolean countInFlight;
    private final Set<String> knownAdapters = ConcurrentHashMap.newKeySet();
    /** Per endpoint name: this EPP's unfinished requests per adapter (immutable maps, replaced on change). */
    private final ConcurrentHashMap<String, Map<String, Integer>> inFlight = new ConcurrentHashMap<>();

    /** One request's adapter on its endpoint, released exactly once. */
    private record InFlight(String endpoint, String adapter, AtomicBoolean released) {
    }

    public LoraAffinityScorer(String name) {
        this(name, PluginParameters.EMPTY);
    }

    public LoraAffinityScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.countInFlight = parameters.getBoolean("countInFlight", false);
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        String adapter = request.targetModel();
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            Endpoint e = endpoints.get(i);
            EndpointMetrics m = e.metrics();
            if (countInFlight) {
                learn(m.activeAdapters());
                learn(m.waitingAdapters());
            }
            // with the slot limit unknown, own picks cannot be placed in slots: the scrape alone decides
            Map<String, Integer> own = countInFlight && m.maxActiveAdapters() >= 0
                    ? inFlight.getOrDefault(e.info().name(), Map.of()) : Map.of();
            scores[i] = score(m, own, adapter);
        }
    }

    /**
     * GAIE's tiers over the endpoint's adapters: the scraped running and waiting ones plus {@code own}, this
     * EPP's in-flight ones (empty without {@code countInFlight}, which leaves GAIE's scorer exactly).
     */
    private static double score(EndpointMetrics m, Map<String, Integer> own, String adapter) {
        if (m.activeAdapters().contains(adapter)) {
            return 1.0;
        }
        int activeOrOwn = m.activeAdapters().size();
        int committed = activeOrOwn + m.waitingAdapters().size();
        for (String a : own.keySet()) {
            if (!m.activeAdapters().contains(a)) {
                activeOrOwn++;
                if (!m.waitingAdapters().contains(a)) {
                    committed++;
                }
            }
        }
        if (own.containsKey(adapter) && activeOrOwn <= m.maxActiveAdapters()) {
            return 1.0;
        } else if (committed < m.maxActiveAdapters()) {
            return 0.8;
        } else if (own.containsKey(adapter) || m.waitingAdapters().contains(adapter)) {
            return 0.6;
        }
        return 0.0;
    }

    private void learn(Set<String> adapters) {
        for (String a : adapters) {
            if (knownAdapters.size() >= MAX_KNOWN_ADAPTERS) {
                return;
            }
            knownAdapters.add(a);
        }
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        Endpoint target = result.primary();
        String adapter = request.targetModel();
        if (!countInFlight || target == null || state.get(IN_FLIGHT) != null || !knownAdapters.contains(adapter)) {
            return;
        }
        String name = target.info().name();
        inFlight.compute(name, (k, counts) -> {
            Map<String, Integer> next = counts == null ? new HashMap<>() : new HashMap<>(counts);
            next.merge(adapter, 1, Integer::sum);
            return Map.copyOf(next);
        });
        state.put(IN_FLIGHT, new InFlight(name, adapter, new AtomicBoolean()));
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        InFlight f = state.get(IN_FLIGHT);
        if (f == null || !f.released().compareAndSet(false, true)) {
            return;
        }
        // an endpoint with nothing in flight is dropped, so endpoints that went away leave nothing behind
        inFlight.computeIfPresent(f.endpoint(), (k, counts) -> {
            Map<String, Integer> next = new HashMap<>(counts);
            next.computeIfPresent(f.adapter(), (a, c) -> c > 1 ? c - 1 : null);
            return next.isEmpty() ? null : Map.copyOf(next);
        });
    }

    /** Endpoints with adapter requests in flight (for tests and diagnostics). */
    public int trackedEndpoints() {
        return inFlight.size();
    }
}
