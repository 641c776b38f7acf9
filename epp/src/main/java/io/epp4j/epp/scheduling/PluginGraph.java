package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.plugins.ResponseAttributeReporter;
import io.epp4j.spi.Admitter;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Filter;
import io.epp4j.spi.Picker;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.Scorer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/** One configuration compiled for the hot path: plugin arrays with their timers resolved once. Immutable. */
final class PluginGraph {

    static final class Profile {
        final String name;
        final TimedPlugin<Filter>[] filters;
        final TimedPlugin<Scorer>[] scorers;
        final double[] weights;
        final List<String> scorerNames;
        final TimedPlugin<Picker> picker;

        Profile(String name, TimedPlugin<Filter>[] filters, TimedPlugin<Scorer>[] scorers, double[] weights,
                TimedPlugin<Picker> picker) {
            this.name = name;
            this.filters = filters;
            this.scorers = scorers;
            this.weights = weights;
            List<String> names = new ArrayList<>();
            for (TimedPlugin<Scorer> s : scorers) {
                names.add(s.plugin().name());
            }
            this.scorerNames = List.copyOf(names);
            this.picker = picker;
        }
    }

    final LoadedConfig config;
    final TimedPlugin<ProfileHandler> pickProfiles;
    final TimedPlugin<ProfileHandler> processResults;
    final List<String> profileNames;
    final Map<String, Profile> profiles;
    final TimedPlugin<DataProducer>[] producers;
    final TimedPlugin<PreRequest>[] preRequests;
    final TimedPlugin<Admitter>[] admitters;
    final TimedPlugin<ResponseObserver>[] observersReceived;
    final TimedPlugin<ResponseObserver>[] observersStreaming;
    final TimedPlugin<ResponseObserver>[] observersComplete;
    final TimedPlugin<ResponseAttributeReporter>[] reporters;
    /** Whether some plugin of this configuration blocks on I/O. */
    final boolean blocksOnIo;

    @SuppressWarnings("unchecked")
    PluginGraph(LoadedConfig config, SchedulerMetrics metrics, LongSupplier ticker) {
        this.config = config;
        ProfileHandler handler = config.profileHandler();
        this.pickProfiles = metrics.timed(handler, "ProfilePicker", ticker);
        this.processResults = metrics.timed(handler, "ProcessProfilesResults", ticker);
        Map<String, Profile> map = new LinkedHashMap<>();
        for (LoadedConfig.Profile p : config.profiles()) {
            TimedPlugin<Filter>[] filters = new TimedPlugin[p.filters().size()];
            for (int i = 0; i < filters.length; i++) {
                filters[i] = metrics.timed(p.filters().get(i), "Filter", ticker);
            }
            TimedPlugin<Scorer>[] scorers = new TimedPlugin[p.scorers().size()];
            double[] weights = new double[scorers.length];
            for (int i = 0; i < scorers.length; i++) {
                scorers[i] = metrics.timed(p.scorers().get(i).scorer(), "Scorer", ticker);
                weights[i] = p.scorers().get(i).weight();
            }
            map.put(p.name(), new Profile(p.name(), filters, scorers, weights,
                    metrics.timed(p.picker(), "Picker", ticker)));
        }
        this.profiles = map;
        this.profileNames = List.copyOf(map.keySet());
        this.producers = collect(config, DataProducer.class, "PrepareData", metrics, ticker);
        this.preRequests = collect(config, PreRequest.class, "PreRequest", metrics, ticker);
        this.admitters = collect(config, Admitter.class, "Admitter", metrics, ticker);
        this.observersReceived = collect(config, ResponseObserver.class, "ResponseReceived", metrics, ticker);
        this.observersStreaming = collect(config, ResponseObserver.class, "ResponseStreaming", metrics, ticker);
        this.observersComplete = collect(config, ResponseObserver.class, "ResponseComplete", metrics, ticker);
        this.reporters = collect(config, ResponseAttributeReporter.class, "ResponseComplete", metrics, ticker);
        this.blocksOnIo = config.plugins().values().stream().anyMatch(Plugin::blocksOnIo);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Plugin> TimedPlugin<T>[] collect(LoadedConfig config, Class<T> type, String point,
                                                               SchedulerMetrics metrics, LongSupplier ticker) {
        List<TimedPlugin<T>> out = new ArrayList<>();
        for (Plugin p : config.plugins().values()) {
            if (type.isInstance(p)) {
                out.add(metrics.timed(type.cast(p), point, ticker));
            }
        }
        return out.toArray(new TimedPlugin[0]);
    }
}
