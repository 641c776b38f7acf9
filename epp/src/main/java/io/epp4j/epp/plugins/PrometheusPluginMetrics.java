package io.epp4j.epp.plugins;

import io.epp4j.spi.PluginMetrics;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;

/**
 * {@link PluginMetrics} on a {@link PrometheusRegistry}. Idempotent by name, so a reloaded configuration re-uses the
 * metrics of the previous one (a gauge then reads the newest supplier).
 */
public final class PrometheusPluginMetrics implements PluginMetrics {

    private final PrometheusRegistry registry;
    private final Map<String, io.prometheus.metrics.core.metrics.Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, AtomicReference<DoubleSupplier>> gauges = new ConcurrentHashMap<>();
    private final Map<String, io.prometheus.metrics.core.metrics.Histogram> histograms = new ConcurrentHashMap<>();

    public PrometheusPluginMetrics(PrometheusRegistry registry) {
        this.registry = registry;
    }

    @Override
    public PluginMetrics.Counter counter(String name, String help, String... labelNames) {
        io.prometheus.metrics.core.metrics.Counter c = counters.computeIfAbsent(name,
                n -> io.prometheus.metrics.core.metrics.Counter.builder().name(n).help(help)
                .labelNames(labelNames).register(registry));
        return labelValues -> c.labelValues(labelValues).inc();
    }

    @Override
    public PluginMetrics.Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        io.prometheus.metrics.core.metrics.Histogram h = histograms.computeIfAbsent(name,
                n -> io.prometheus.metrics.core.metrics.Histogram.builder().name(n).help(help)
                        .classicUpperBounds(buckets).classicOnly().labelNames(labelNames).register(registry));
        return (value, labelValues) -> h.labelValues(labelValues).observe(value);
    }

    @Override
    public void gauge(String name, String help, DoubleSupplier value) {
        gauges.computeIfAbsent(name, n -> {
            AtomicReference<DoubleSupplier> ref = new AtomicReference<>(value);
            GaugeWithCallback.builder().name(n).help(help)
                    .callback(cb -> cb.call(ref.get().getAsDouble())).register(registry);
            return ref;
        }).set(value);
    }
}
