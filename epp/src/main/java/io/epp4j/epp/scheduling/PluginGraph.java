package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Filter;
import io.epp4j.spi.Picker;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.Scorer;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One configuration compiled for the hot path: plugin arrays with their timers resolved once. Immutable. */
final class PluginGraph {

    record Timed<T>(T plugin, DistributionDataPoint timer) {
    }

    static final class Profile {
        final String name;
        final Timed<Filter>[] filters;
        final Timed<Scorer>[] scorers;
        final double[] weights;
        final List<String> scorerNames;
        final Timed<Picker> picker;

        Profile(String name, Timed<Filter>[] filters, Timed<Scorer>[] scorers, double[] weights, Timed<Picker> picker) {
            this.name = name;
            this.filters = filters;
            this.scorers = scorers;
            this.weights = weights;
            List<String> names = new ArrayList<>();
            for (Timed<Scorer> s : scorers) {
                names.add(s.plugin().name());
            }
            this.scorerNames = List.copyOf(names);
            this.picker = picker;
        }
    }

    final LoadedConfig config;
    final ProfileHandler handler;
    final DistributionDataPoint pickProfilesTimer;
    final DistributionDataPoint processResultsTimer;
    final List<String> profileNames;
    final Map<String, Profile> profiles;
    final Timed<DataProducer>[] producers;
    final Timed<PreRequest>[] preRequests;
    final Timed<ResponseObserver>[] observersReceived;
    final Timed<ResponseObserver>[] observersStreaming;
    final Timed<ResponseObserver>[] observersComplete;

    @SuppressWarnings("unchecked")
    PluginGraph(LoadedConfig config, SchedulerMetrics metrics) {
        this.config = config;
        this.handler = config.profileHandler();
        this.pickProfilesTimer = metrics.timer("ProfilePicker", handler);
        this.processResultsTimer = metrics.timer("ProcessProfilesResults", handler);
        Map<String, Profile> map = new LinkedHashMap<>();
        for (LoadedConfig.Profile p : config.profiles()) {
            Timed<Filter>[] filters = new Timed[p.filters().size()];
            for (int i = 0; i < filters.length; i++) {
                filters[i] = new Timed<>(p.filters().get(i), metrics.timer("Filter", p.filters().get(i)));
            }
            Timed<Scorer>[] scorers = new Timed[p.scorers().size()];
            double[] weights = new double[scorers.length];
            for (int i = 0; i < scorers.length; i++) {
                Scorer s = p.scorers().get(i).scorer();
                scorers[i] = new Timed<>(s, metrics.timer("Scorer", s));
                weights[i] = p.scorers().get(i).weight();
            }
            map.put(p.name(), new Profile(p.name(), filters, scorers, weights,
                    new Timed<>(p.picker(), metrics.timer("Picker", p.picker()))));
        }
        this.profiles = map;
        this.profileNames = List.copyOf(map.keySet());
        this.producers = collect(config, DataProducer.class, "PrepareData", metrics);
        this.preRequests = collect(config, PreRequest.class, "PreRequest", metrics);
        this.observersReceived = collect(config, ResponseObserver.class, "ResponseReceived", metrics);
        this.observersStreaming = collect(config, ResponseObserver.class, "ResponseStreaming", metrics);
        this.observersComplete = collect(config, ResponseObserver.class, "ResponseComplete", metrics);
    }

    @SuppressWarnings("unchecked")
    private static <T> Timed<T>[] collect(LoadedConfig config, Class<T> type, String point, SchedulerMetrics m) {
        List<Timed<T>> out = new ArrayList<>();
        for (Plugin p : config.plugins().values()) {
            if (type.isInstance(p)) {
                out.add(new Timed<>(type.cast(p), m.timer(point, p)));
            }
        }
        return out.toArray(new Timed[0]);
    }
}
