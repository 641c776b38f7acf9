package io.epp4j.spi;

import java.util.function.DoubleSupplier;

/**
 * A minimal metrics registry for plugins, so the SPI does not depend on a metrics library. Registering the same
 * name twice returns the same metric (configs can be reloaded).
 */
public interface PluginMetrics {

    /** A monotonically increasing counter; the name should end in {@code _total}. */
    Counter counter(String name, String help, String... labelNames);

    /** A gauge read when metrics are scraped; the supplier must be thread-safe and cheap. */
    void gauge(String name, String help, DoubleSupplier value);

    /** A histogram with fixed bucket upper bounds and label names. */
    Histogram histogram(String name, String help, double[] buckets, String... labelNames);

    /** A counter with fixed label names. */
    interface Counter {
        void inc(String... labelValues);
    }

    /** A histogram with fixed label names. */
    interface Histogram {
        void observe(double value, String... labelValues);
    }

    /** Metrics that go nowhere (tests, tools). */
    PluginMetrics NONE = new PluginMetrics() {
        @Override
        public Counter counter(String name, String help, String... labelNames) {
            return labelValues -> { };
        }

        @Override
        public void gauge(String name, String help, DoubleSupplier value) {
        }

        @Override
        public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
            return (value, labelValues) -> { };
        }
    };
}
