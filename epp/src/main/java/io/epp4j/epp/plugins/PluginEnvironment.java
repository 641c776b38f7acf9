package io.epp4j.epp.plugins;

import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;

import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.LongSupplier;

/**
 * What every plugin of a process shares: clock, ticker, the random seed and the metrics sink. Makes the
 * {@link PluginContext} of one configuration load.
 */
public record PluginEnvironment(Clock clock, LongSupplier nanoTicker, long seed, PluginMetrics metrics) {

    public static PluginEnvironment system(PluginMetrics metrics) {
        return new PluginEnvironment(Clock.systemUTC(), System::nanoTime, System.nanoTime(), metrics);
    }

    /** A context whose plugin lookup reads {@code created} (filled as the loader creates instances). */
    public PluginContext contextFor(Map<String, Plugin> created) {
        return new PluginContext() {
            @Override
            public Clock clock() {
                return clock;
            }

            @Override
            public LongSupplier nanoTicker() {
                return nanoTicker;
            }

            @Override
            public Random random(String pluginName) {
                return new Random(seed * 0x9E3779B97F4A7C15L + pluginName.hashCode());
            }

            @Override
            public <T> Optional<T> plugin(String name, Class<T> type) {
                Plugin p = created.get(name);
                return type.isInstance(p) ? Optional.of(type.cast(p)) : Optional.empty();
            }

            @Override
            public PluginMetrics metrics() {
                return metrics;
            }
        };
    }
}
