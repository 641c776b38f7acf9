package io.epp4j.epp.kvevents;

import io.epp4j.spi.PluginMetrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;

/** Plugin metrics kept in memory, so tests can read what an operator would see. */
public final class CountingMetrics implements PluginMetrics {

    final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
    final Map<String, DoubleSupplier> gauges = new ConcurrentHashMap<>();

    /** The counter's value for these label values, e.g. {@code count("epp4j_kv_events_dropped_total", "a", "frames")}. */
    public long count(String name, String... labels) {
        AtomicLong c = counts.get(name + String.join(",", labels));
        return c == null ? 0 : c.get();
    }

    @Override
    public Counter counter(String name, String help, String... labelNames) {
        return labelValues -> counts.computeIfAbsent(name + String.join(",", labelValues), k -> new AtomicLong())
                .incrementAndGet();
    }

    @Override
    public void gauge(String name, String help, DoubleSupplier value) {
        gauges.put(name, value);
    }

    @Override
    public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        return (value, labelValues) -> { };
    }
}
