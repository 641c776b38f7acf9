package io.epp4j.spi;

import java.time.Clock;
import java.util.Optional;
import java.util.Random;
import java.util.function.LongSupplier;

/** What the EPP gives a plugin when creating it: time, randomness, other plugins and a place for metrics. */
public interface PluginContext {

    /** Wall clock (compare with {@link EndpointMetrics#scrapedAtMillis()}). */
    Clock clock();

    /** Monotonic nanosecond ticker for measuring durations. */
    LongSupplier nanoTicker();

    /** A random source seeded from the EPP's seed and the plugin name; not thread-safe, guard it. */
    Random random(String pluginName);

    /**
     * Another plugin instance of this configuration by name: at creation, if it was declared before this one; in
     * {@link Plugin#resolveReferences}, any of the configuration.
     */
    <T> Optional<T> plugin(String name, Class<T> type);

    /** Where the plugin registers its own metrics. */
    PluginMetrics metrics();
}
