package io.epp4j.epp.scheduling;

import io.epp4j.spi.Plugin;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.LongSupplier;

/** GAIE's scheduler metrics: per-plugin call latency and the whole scheduling cycle. */
final class SchedulerMetrics {

    private static final double[] BUCKETS = {0.00001, 0.000025, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002,
        0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1};

    private final Histogram pluginDuration;
    final DistributionDataPoint e2e;

    SchedulerMetrics(PrometheusRegistry registry) {
        this.pluginDuration = Histogram.builder()
                .name("inference_extension_plugin_duration_seconds")
                .help("[ALPHA] Plugin processing latency distribution in seconds for each extension point, plugin"
                        + " type and plugin name.")
                .labelNames("extension_point", "plugin_type", "plugin_name")
                .classicUpperBounds(BUCKETS)
                .classicOnly()
                .register(registry);
        this.e2e = Histogram.builder()
                .name("inference_extension_scheduler_e2e_duration_seconds")
                .help("[ALPHA] End-to-end scheduling latency distribution in seconds.")
                .classicUpperBounds(BUCKETS)
                .classicOnly()
                .register(registry);
    }

    /** {@code plugin} at {@code extensionPoint}, its calls timed into the per-plugin histogram. */
    <T extends Plugin> TimedPlugin<T> timed(T plugin, String extensionPoint, LongSupplier ticker) {
        return new TimedPlugin<>(plugin, extensionPoint,
                pluginDuration.labelValues(extensionPoint, plugin.type(), plugin.name()), ticker);
    }
}
