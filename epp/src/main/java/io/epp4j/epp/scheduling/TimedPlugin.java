package io.epp4j.epp.scheduling;

import io.epp4j.epp.tracing.RequestTrace;
import io.epp4j.spi.Plugin;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * One plugin at one extension point, with its latency timer resolved once: every call through it is timed into
 * {@code inference_extension_plugin_duration_seconds{extension_point, plugin_type, plugin_name}}. The one place
 * where plugin calls are timed, and where a failing plugin is logged. Immutable.
 *
 * @param <T> the extension point's interface
 */
final class TimedPlugin<T extends Plugin> {

    private static final Logger LOG = LoggerFactory.getLogger(TimedPlugin.class);

    private final T plugin;
    private final String extensionPoint;
    private final DistributionDataPoint timer;
    private final LongSupplier ticker;

    TimedPlugin(T plugin, String extensionPoint, DistributionDataPoint timer, LongSupplier ticker) {
        this.plugin = plugin;
        this.extensionPoint = extensionPoint;
        this.timer = timer;
        this.ticker = ticker;
    }

    T plugin() {
        return plugin;
    }

    /** Calls the plugin; whatever it throws propagates (a filter, picker or profile handler fails the cycle). */
    <R> R apply(Function<? super T, R> call) {
        long start = ticker.getAsLong();
        try {
            return call.apply(plugin);
        } finally {
            observe(start);
        }
    }

    /**
     * Calls the plugin; a {@link RuntimeException} is logged with the request's id and goes no further (producers,
     * scorers, pre-request hooks and response observers never fail a request). Returns whether the call succeeded.
     */
    boolean run(Consumer<? super T> call, String requestId) {
        long start = ticker.getAsLong();
        try {
            call.accept(plugin);
            return true;
        } catch (RuntimeException e) {
            LOG.warn("{} plugin {} failed for request {}: {}", extensionPoint, plugin.name(), requestId,
                    e.toString());
            return false;
        } finally {
            observe(start);
        }
    }

    private void observe(long start) {
        long end = ticker.getAsLong();
        timer.observe((end - start) / 1e9);
        RequestTrace.plugin(extensionPoint, plugin.type(), plugin.name(), start, end);
    }
}
