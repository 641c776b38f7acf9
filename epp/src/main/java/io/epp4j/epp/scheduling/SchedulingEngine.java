package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.Scorer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The scheduler: legacy admission through the saturation detector, then data producers → profile handler → per
 * profile filters → weighted scorers → picker, then pre-request hooks and response observers, all from one
 * immutable {@link PluginGraph} swapped atomically on reload. Every plugin call is timed into
 * {@code inference_extension_plugin_duration_seconds}, the cycle into
 * {@code inference_extension_scheduler_e2e_duration_seconds}; the last decisions are kept in a {@link DecisionLog}
 * (and logged at trace level). Thread-safe.
 */
public final class SchedulingEngine implements RequestScheduler, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SchedulingEngine.class);
    public static final String SATURATED = "system saturated, sheddable request dropped";
    /** Guards against a director that never completes exchanges. */
    static final int MAX_OPEN_EXCHANGES = 200_000;

    private record Exchange(CycleState state, PluginGraph graph) {
    }

    private final SchedulerMetrics metrics;
    private final LongSupplier ticker;
    private final Clock clock;
    private final DecisionLog decisions;
    private final AtomicReference<PluginGraph> graph = new AtomicReference<>();
    private final Map<IdentityKey, Exchange> exchanges = new ConcurrentHashMap<>();
    private volatile io.epp4j.epp.config.ConfigWatcher watcher;

    private record IdentityKey(InferenceRequest request) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityKey k && k.request == request;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(request);
        }
    }

    public SchedulingEngine(LoadedConfig config, PrometheusRegistry registry, Clock clock, LongSupplier ticker,
                            int decisionCapacity) {
        this.metrics = new SchedulerMetrics(registry);
        this.clock = clock;
        this.ticker = ticker;
        this.decisions = new DecisionLog(decisionCapacity);
        this.graph.set(new PluginGraph(config, metrics));
    }

    public SchedulingEngine(LoadedConfig config, PrometheusRegistry registry) {
        this(config, registry, Clock.systemUTC(), System::nanoTime, 256);
    }

    /** The configuration currently serving. */
    public LoadedConfig config() {
        return graph.get().config;
    }

    public DecisionLog decisions() {
        return decisions;
    }

    /**
     * Serves {@code next} from now on; requests already scheduled finish with the plugins that scheduled them.
     * Closes the old configuration's closeable plugins that the new one does not reuse.
     */
    public void swap(LoadedConfig next) {
        LoadedConfig current = graph.get().config;
        for (Plugin p : next.plugins().values()) {
            if (p instanceof ApproxPrefixCacheProducer fresh
                    && current.plugins().get(p.name()) instanceof ApproxPrefixCacheProducer previous
                    && fresh.adoptIndexOf(previous)) {
                LOG.info("prefix producer {} keeps its index across the reload", p.name());
            }
        }
        PluginGraph old = graph.getAndSet(new PluginGraph(next, metrics));
        Set<Plugin> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        kept.addAll(next.plugins().values());
        for (Plugin p : old.config.plugins().values()) {
            if (!kept.contains(p) && p instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing plugin {} failed: {}", p.name(), e.toString());
                }
            }
        }
        LOG.info("scheduler now serves config from {}: profiles {}", next.source(), graph.get().profileNames);
    }

    /** Ties the config watcher to this engine's lifetime. */
    void attach(io.epp4j.epp.config.ConfigWatcher configWatcher) {
        this.watcher = configWatcher;
    }

    /** The watcher reloading the config file, when the config came from a file. */
    public java.util.Optional<io.epp4j.epp.config.ConfigWatcher> configWatcher() {
        return java.util.Optional.ofNullable(watcher);
    }

    @Override
    public String admissionDenial(InferenceRequest request, List<Endpoint> candidates) {
        if (request.priority() >= 0) {
            return null;
        }
        double saturation = graph.get().config.saturationDetector().saturation(candidates);
        return saturation >= 1.0 ? SATURATED : null;
    }

    @Override
    public SchedulingResult schedule(InferenceRequest request, List<Endpoint> candidates)
            throws SchedulingException {
        long start = ticker.getAsLong();
        PluginGraph g = graph.get();
        CycleState state = new CycleState();
        for (PluginGraph.Timed<DataProducer> p : g.producers) {
            long t = ticker.getAsLong();
            try {
                p.plugin().produce(state, request, candidates);
            } catch (RuntimeException e) {
                LOG.warn("data producer {} failed for request {}: {}", p.plugin().name(), request.requestId(),
                        e.toString());
            }
            p.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
        Map<String, List<Endpoint>> results = new LinkedHashMap<>();
        Map<String, List<Endpoint>> view = Collections.unmodifiableMap(results);
        for (int round = 0; round <= g.profileNames.size(); round++) {
            long t = ticker.getAsLong();
            List<String> next = g.handler.pickProfiles(state, request, g.profileNames, view);
            g.pickProfilesTimer.observe((ticker.getAsLong() - t) / 1e9);
            if (next.isEmpty()) {
                break;
            }
            for (String name : next) {
                PluginGraph.Profile profile = g.profiles.get(name);
                if (profile == null || results.containsKey(name)) {
                    continue;
                }
                results.put(name, runProfile(profile, state, request, candidates));
            }
        }
        long t = ticker.getAsLong();
        String primary = g.handler.primaryProfile(state, request, view);
        g.processResultsTimer.observe((ticker.getAsLong() - t) / 1e9);
        metrics.e2e.observe((ticker.getAsLong() - start) / 1e9);
        List<Endpoint> targets = primary == null ? null : results.get(primary);
        if (targets == null || targets.isEmpty()) {
            throw new SchedulingException("failed to find a target endpoint: no candidate endpoint left after"
                    + " filtering in profiles " + results.keySet());
        }
        SchedulingResult result = new SchedulingResult(primary, targets);
        if (exchanges.size() < MAX_OPEN_EXCHANGES) {
            exchanges.put(new IdentityKey(request), new Exchange(state, g));
        }
        return result;
    }

    private List<Endpoint> runProfile(PluginGraph.Profile profile, CycleState state, InferenceRequest request,
                                      List<Endpoint> candidates) {
        List<Endpoint> endpoints = candidates;
        for (PluginGraph.Timed<Filter> f : profile.filters) {
            if (endpoints.isEmpty()) {
                break;
            }
            long t = ticker.getAsLong();
            endpoints = f.plugin().filter(state, request, endpoints);
            f.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
        int n = endpoints.size();
        int s = profile.scorers.length;
        double[][] raw = new double[s][n];
        double[] totals = new double[n];
        List<Endpoint> picked;
        if (n == 0) {
            picked = List.of();
        } else {
            for (int j = 0; j < s; j++) {
                PluginGraph.Timed<Scorer> scorer = profile.scorers[j];
                double[] scores = raw[j];
                long t = ticker.getAsLong();
                try {
                    scorer.plugin().score(state, request, endpoints, scores);
                } catch (RuntimeException e) {
                    java.util.Arrays.fill(scores, 0.0);
                    LOG.warn("scorer {} failed for request {}: {}", scorer.plugin().name(), request.requestId(),
                            e.toString());
                }
                scorer.timer().observe((ticker.getAsLong() - t) / 1e9);
                double w = profile.weights[j];
                for (int i = 0; i < n; i++) {
                    double v = scores[i];
                    v = v >= 0 ? (v <= 1 ? v : 1.0) : 0.0; // NaN fails both tests: 0
                    scores[i] = v;
                    totals[i] += w * v;
                }
            }
            long t = ticker.getAsLong();
            picked = profile.picker.plugin().pick(state, request, endpoints, totals);
            profile.picker.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
        Decision d = new Decision(request.requestId(), clock.millis(), profile.name, endpoints, profile.scorerNames,
                profile.weights, raw, totals, picked);
        decisions.record(d);
        if (LOG.isTraceEnabled()) { // one line per endpoint: trace (--v 5) only
            LOG.trace(d.explain());
        }
        return picked;
    }

    @Override
    public void onPicked(InferenceRequest request, SchedulingResult result) {
        Exchange ex = exchanges.get(new IdentityKey(request));
        if (ex == null) {
            return;
        }
        for (PluginGraph.Timed<PreRequest> p : ex.graph.preRequests) {
            long t = ticker.getAsLong();
            try {
                p.plugin().preRequest(ex.state, request, result);
            } catch (RuntimeException e) {
                LOG.warn("pre-request plugin {} failed: {}", p.plugin().name(), e.toString());
            }
            p.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
    }

    @Override
    public void onResponseHeaders(InferenceRequest request, Endpoint target, Map<String, String> headers) {
        responseHeaderMutations(request, target, headers, null);
    }

    @Override
    public Map<String, String> responseHeaderMutations(InferenceRequest request, Endpoint target,
                                                       Map<String, String> headers, Map<String, String> lbMetadata) {
        Exchange ex = exchanges.get(new IdentityKey(request));
        if (ex == null || ex.graph.observersReceived.length == 0) {
            return Map.of();
        }
        ResponseHeaders response = new ResponseHeaders(headers, lbMetadata);
        for (PluginGraph.Timed<ResponseObserver> o : ex.graph.observersReceived) {
            long t = ticker.getAsLong();
            try {
                o.plugin().onResponseHeaders(ex.state, request, target, response);
            } catch (RuntimeException e) {
                LOG.warn("response observer {} failed: {}", o.plugin().name(), e.toString());
            }
            o.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
        return response.added();
    }

    @Override
    public void onResponseBody(InferenceRequest request, Endpoint target, ByteSlice chunk, boolean endOfStream) {
        Exchange ex = exchanges.get(new IdentityKey(request));
        if (ex == null) {
            return;
        }
        for (PluginGraph.Timed<ResponseObserver> o : ex.graph.observersStreaming) {
            long t = ticker.getAsLong();
            try {
                o.plugin().onResponseBody(ex.state, request, target, chunk, endOfStream);
            } catch (RuntimeException e) {
                LOG.warn("response observer {} failed: {}", o.plugin().name(), e.toString());
            }
            o.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
    }

    @Override
    public void onComplete(InferenceRequest request, Endpoint target, ResponseUsage usage, boolean success) {
        Exchange ex = exchanges.remove(new IdentityKey(request));
        if (ex == null) {
            return;
        }
        for (PluginGraph.Timed<ResponseObserver> o : ex.graph.observersComplete) {
            long t = ticker.getAsLong();
            try {
                o.plugin().onComplete(ex.state, request, target, usage, success);
            } catch (RuntimeException e) {
                LOG.warn("response observer {} failed: {}", o.plugin().name(), e.toString());
            }
            o.timer().observe((ticker.getAsLong() - t) / 1e9);
        }
    }

    /** Requests scheduled whose completion was not reported yet. */
    int openExchanges() {
        return exchanges.size();
    }

    @Override
    public void close() {
        io.epp4j.epp.config.ConfigWatcher w = watcher;
        if (w != null) {
            w.close();
        }
        for (Plugin p : graph.get().config.plugins().values()) {
            if (p instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing plugin {} failed: {}", p.name(), e.toString());
                }
            }
        }
    }
}
