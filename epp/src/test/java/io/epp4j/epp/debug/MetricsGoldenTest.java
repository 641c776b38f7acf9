package io.epp4j.epp.debug;

import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Label;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every metric the EPP serves, by name, type and label names, pinned by {@code metrics.golden}: dashboards and
 * alerts built for GAIE (and for us) break silently when one changes. The EPP here scrapes real metrics servers,
 * schedules with the default profile, serves a request to its end and rejects one, so every family has samples.
 * After a deliberate change, regenerate with {@code -Dgolden.update=true} and review the diff.
 */
class MetricsGoldenTest {

    private static final String GOLDEN = "metrics.golden";

    @Test
    void metricNamesTypesAndLabelsMatchTheGoldenList() throws Exception {
        String actual;
        try (DebugFixture f = new DebugFixture("--refresh-prometheus-metrics-interval=50ms")) {
            f.complete("req-1", "m");
            GatewayStream rejected = f.epp.post(Dialect.ENVOY, "/v1/chat/completions",
                    Messages.chatBody("m", false, 10), 1000, Messages.subsetHint("10.9.9.9:8000"));
            rejected.next();
            rejected.awaitClose();
            Set<String> poolGauges = Set.of("inference_pool_ready_pods", "inference_pool_average_kv_cache_utilization",
                    "inference_pool_average_queue_size", "inference_pool_average_running_requests");
            DebugFixture.await("pool gauges published", () -> f.epp.server.registry().scrape().stream()
                    .filter(m -> poolGauges.contains(m.getMetadata().getName()) && !m.getDataPoints().isEmpty())
                    .count() == poolGauges.size());
            actual = describe(f.epp.server.registry().scrape());
        }
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(Path.of("src/test/resources/io/epp4j/epp/debug", GOLDEN), actual);
        }
        String expected;
        try (InputStream in = MetricsGoldenTest.class.getResourceAsStream(GOLDEN)) {
            expected = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertEquals(expected, actual, "metric names, types or labels changed; if on purpose, regenerate "
                + GOLDEN + " with -Dgolden.update=true and document the change in docs/observability.md");
    }

    /** One line per family: {@code name type label,label,...} (labels as seen on its samples), sorted by name. */
    static String describe(Iterable<MetricSnapshot> snapshots) {
        TreeMap<String, String> lines = new TreeMap<>();
        for (MetricSnapshot m : snapshots) {
            Set<String> labels = new TreeSet<>();
            for (DataPointSnapshot p : m.getDataPoints()) {
                for (Label l : p.getLabels()) {
                    labels.add(l.getName());
                }
            }
            String type = m instanceof CounterSnapshot ? "counter" : m instanceof GaugeSnapshot ? "gauge"
                    : m instanceof HistogramSnapshot ? "histogram" : m instanceof InfoSnapshot ? "info"
                    : m instanceof SummarySnapshot ? "summary" : m.getClass().getSimpleName();
            String name = m.getMetadata().getPrometheusName() + (m instanceof CounterSnapshot ? "_total"
                    : m instanceof InfoSnapshot ? "_info" : "");
            lines.put(name, name + " " + type + " " + String.join(",", labels)
                    + (m.getDataPoints().isEmpty() ? "(no samples)" : ""));
        }
        StringBuilder out = new StringBuilder();
        lines.values().forEach(l -> out.append(l.strip()).append('\n'));
        return out.toString();
    }
}
