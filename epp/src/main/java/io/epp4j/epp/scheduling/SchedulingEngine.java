package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigWatcher;
import io.epp4j.epp.config.FlowControlConfig;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.epp.director.ScheduledRequest;
import io.epp4j.epp.plugins.ResponseAttributeReporter;
import io.epp4j.spi.Admitter;
import io.epp4j.epp.request.RequestParsers;
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
import io.epp4j.spi.UpstreamHeaders;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * The scheduler: legacy admission through the saturation detector, then data producers → profile handler → per
 * profile filters → weighted scorers → picker, from one immutable {@link PluginGraph} swapped atomically on reload.
 * Each scheduled request carries its cycle state and the graph that scheduled it to its pre-request hooks and
 * response observers. Every plugin call is timed into {@code inference_extension_plugin_duration_seconds}, the cycle
 * into {@code inference_extension_scheduler_e2e_duration_seconds}; the last decisions are kept in a
 * {@link DecisionLog} (and logged at trace level). Thread-safe.
 */
public final class SchedulingEngine implements RequestScheduler, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SchedulingEngine.class);
    public static final String SATURATED = "system saturated, sheddable request dropped";

    private final SchedulerMetrics metrics;
    private final LongSupplier ticker;
    private final Clock clock;
    private final DecisionLog decisions;
    private final AtomicReference<PluginGraph> graph = new AtomicReference<>();
    private volatile ConfigWatcher watcher;

    public SchedulingEngine(LoadedConfig config, PrometheusRegistry registry, Clock clock, LongSupplier ticker,
                            int decisionCapacity) {
        this.metrics = new SchedulerMetrics(registry);
        this.clock = clock;
        this.ticker = ticker;
        this.decisions = new DecisionLog(decisionCapacity);
        this.graph.set(new PluginGraph(config, metrics, ticker));
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
     * Plugins that can take over their predecessor's state (same name) do so first; closeable plugins of the old
     * configuration that the new one does not reuse are closed.
     */
    public void swap(LoadedConfig next) {
        LoadedConfig current = graph.get().config;
        for (Plugin p : next.plugins().values()) {
            Plugin predecessor = current.plugins().get(p.name());
            if (predecessor != null && predecessor != p && p.takeOver(predecessor)) {
                LOG.info("plugin {} keeps its state across the reload", p.name());
            }
        }
        PluginGraph old = graph.getAndSet(new PluginGraph(next, metrics, ticker));
        Set<Plugin> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        kept.addAll(next.plugins().values());
        for (Plugin p : old.config.plugins().values()) {
            if (!kept.contains(p)) {
                closeQuietly(p);
            }
        }
        LOG.info("scheduler now serves config from {}: profiles {}", next.source(), graph.get().profileNames);
    }

    /** Ties the config watcher to this engine's lifetime. */
    void attach(ConfigWatcher configWatcher) {
        this.watcher = configWatcher;
    }

    /** The watcher reloading the config file, when the config came from a file. */
    public Optional<ConfigWatcher> configWatcher() {
        return Optional.ofNullable(watcher);
    }

    @Override
    public FlowControlConfig flowControl() {
        return graph.get().config.flowControlConfig();
    }

    @Override
    public boolean mayBlock() {
        return graph.get().blocksOnIo;
    }

    @Override
    public RequestParsers parsers() {
        return graph.get().config.parsers();
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
    public String admitterDenial(InferenceRequest request, List<Endpoint> candidates) {
        for (TimedPlugin<Admitter> a : graph.get().admitters) {
            String denial = a.apply(admitter -> admitter.denial(request, candidates));
            if (denial != null) {
                return denial;
            }
        }
        return null;
    }

    @Override
    public ScheduledRequest schedule(InferenceRequest request, List<Endpoint> candidates) throws SchedulingException {
        long start = ticker.getAsLong();
        PluginGraph g = graph.get();
        CycleState state = new CycleState();
        String id = request.requestId();
        for (TimedPlugin<DataProducer> p : g.producers) {
            p.run(producer -> producer.produce(state, request, candidates), id);
        }
        Map<String, List<Endpoint>> results = new LinkedHashMap<>();
        Map<String, Decision> decided = new LinkedHashMap<>(4);
        Map<String, List<Endpoint>> view = Collections.unmodifiableMap(results);
        state.put(CycleState.PROFILE_PICKS, view);
        for (int round = 0; round <= g.profileNames.size(); round++) {
            List<String> next = g.pickProfiles.apply(h -> h.pickProfiles(state, request, g.profileNames, view));
            if (next.isEmpty()) {
                break;
            }
            for (String name : next) {
                PluginGraph.Profile profile = g.profiles.get(name);
                if (profile == null || results.containsKey(name)) {
                    continue;
                }
                Decision d = runProfile(profile, state, request, candidates);
                decided.put(name, d);
                results.put(name, d.picked());
            }
        }
        String primary = g.processResults.apply(h -> h.primaryProfile(state, request, view));
        metrics.e2e.observe((ticker.getAsLong() - start) / 1e9);
        List<Endpoint> picked = primary == null ? null : results.get(primary);
        if (picked == null || picked.isEmpty()) {
            throw new SchedulingException("failed to find a target endpoint: no candidate endpoint left after"
                    + " filtering in profiles " + results.keySet());
        }
        List<Endpoint> targets = g.config.profileHandler().routeTo(state, request, picked);
        state.put(UpstreamHeaders.KEY, new UpstreamHeaders());
        return new Scheduled(request, new SchedulingResult(primary, targets, results), state, g,
                decided.get(primary));
    }

    private Decision runProfile(PluginGraph.Profile profile, CycleState state, InferenceRequest request,
                                      List<Endpoint> candidates) {
        List<Endpoint> endpoints = candidates;
        for (TimedPlugin<Filter> f : profile.filters) {
            if (endpoints.isEmpty()) {
                break;
            }
            List<Endpoint> in = endpoints;
            endpoints = f.apply(filter -> filter.filter(state, request, in));
        }
        int n = endpoints.size();
        int s = profile.scorers.length;
        double[][] raw = new double[s][n];
        double[] totals = new double[n];
        List<Endpoint> picked;
        if (n == 0) {
            picked = List.of();
        } else {
            List<Endpoint> scored = endpoints;
            for (int j = 0; j < s; j++) {
                double[] scores = raw[j];
                if (!profile.scorers[j].run(scorer -> scorer.score(state, request, scored, scores),
                        request.requestId())) {
                    Arrays.fill(scores, 0.0);
                }
                double w = profile.weights[j];
                for (int i = 0; i < n; i++) {
                    double v = scores[i];
                    v = v >= 0 ? (v <= 1 ? v : 1.0) : 0.0; // NaN fails both tests: 0
                    scores[i] = v;
                    totals[i] += w * v;
                }
            }
            picked = profile.picker.apply(p -> p.pick(state, request, scored, totals));
        }
        Decision d = new Decision(request.requestId(), clock.millis(), profile.name, endpoints, profile.scorerNames,
                profile.weights, raw, totals, picked);
        decisions.record(d);
        if (LOG.isTraceEnabled()) { // one line per endpoint: trace (--v 5) only
            LOG.trace(d.explain());
        }
        return d;
    }

    /**
     * A request this engine scheduled: its cycle state and the graph that scheduled it, so its hooks run with the
     * plugins that picked it even after a reload, and no table of open requests is needed.
     */
    private record Scheduled(InferenceRequest request, SchedulingResult result, CycleState state, PluginGraph graph,
                             Decision decision) implements ScheduledRequest {

        @Override
        public Map<String, Double> scores() {
            Map<String, Double> out = new LinkedHashMap<>();
            for (int i = 0; i < decision.endpoints().size(); i++) {
                out.put(decision.endpoints().get(i).hostPort(), decision.totals()[i]);
            }
            return out;
        }

        @Override
        public void preRequest() {
            for (TimedPlugin<PreRequest> p : graph.preRequests) {
                p.run(hook -> hook.preRequest(state, request, result), request.requestId());
            }
        }

        @Override
        public UpstreamHeaders upstreamHeaders() {
            return state.get(UpstreamHeaders.KEY);
        }

        @Override
        public void onResponseHeaders(ResponseHeaders response) {
            for (TimedPlugin<ResponseObserver> o : graph.observersReceived) {
                o.run(observer -> observer.onResponseHeaders(state, request, result.primary(), response),
                        request.requestId());
            }
        }

        @Override
        public void onResponseBody(ByteSlice chunk, boolean endOfStream) {
            for (TimedPlugin<ResponseObserver> o : graph.observersStreaming) {
                o.run(observer -> observer.onResponseBody(state, request, result.primary(), chunk, endOfStream),
                        request.requestId());
            }
        }

        @Override
        public Map<String, Map<String, Double>> responseAttributes(ResponseUsage usage) {
            if (graph.reporters.length == 0) {
                return Map.of();
            }
            Map<String, Map<String, Double>> out = new LinkedHashMap<>();
            for (TimedPlugin<ResponseAttributeReporter> r : graph.reporters) {
                r.run(reporter -> reporter.report(usage, out), request.requestId());
            }
            return out;
        }

        @Override
        public void onComplete(ResponseUsage usage, boolean success) {
            for (TimedPlugin<ResponseObserver> o : graph.observersComplete) {
                o.run(observer -> observer.onComplete(state, request, result.primary(), usage, success),
                        request.requestId());
            }
        }
    }

    @Override
    public void close() {
        ConfigWatcher w = watcher;
        if (w != null) {
            w.close();
        }
        for (Plugin p : graph.get().config.plugins().values()) {
            closeQuietly(p);
        }
    }

    private static void closeQuietly(Plugin p) {
        if (p instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing plugin {} failed: {}", p.name(), e.toString());
            }
        }
    }
}
