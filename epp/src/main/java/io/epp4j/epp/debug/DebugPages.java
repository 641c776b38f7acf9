package io.epp4j.epp.debug;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.RequestLog;
import io.epp4j.epp.director.RequestRecord;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import io.epp4j.epp.scheduling.Decision;
import io.epp4j.epp.scheduling.DecisionLog;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.json.JsonFactory;

import java.io.ByteArrayOutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The JSON behind {@code /debug/endpoints} and {@code /debug/decisions}: read-only views of the endpoint store, the
 * request log, the scheduler's decision log and a few of the process's own metrics. Built on demand from the
 * immutable snapshots the request path publishes, so serving them costs the request path nothing. Thread-safe.
 */
public final class DebugPages {

    /** Most requests {@code /debug/decisions} returns when the caller does not ask for fewer. */
    public static final int DEFAULT_DECISIONS = 50;

    private static final JsonFactory JSON = new JsonFactory();
    // the registry filters counters by their name with and without _total, depending on the caller: take both
    private static final Set<String> COUNTED = Set.of("inference_extension_scheduler_attempts_total",
            "inference_extension_scheduler_attempts", "inference_extension_prefix_indexer_size",
            "inference_objective_request_total", "inference_objective_request",
            "inference_objective_request_error_total", "inference_objective_request_error");

    private final EndpointStore store;
    private final RequestLog requests;
    private final DecisionLog decisions;
    private final PrometheusRegistry registry;
    private final Clock clock;
    private final Duration staleness;
    private final Supplier<List<PreciseIndexStatus>> preciseIndexes;

    /**
     * @param decisions the scheduler's decision log, or null when the scheduler keeps none
     * @param staleness metrics older than this count as stale ({@code --metrics-staleness-threshold})
     * @param preciseIndexes the precise prefix indexes of the configuration serving now (none: an empty list)
     */
    public DebugPages(EndpointStore store, RequestLog requests, DecisionLog decisions, PrometheusRegistry registry,
                      Clock clock, Duration staleness, Supplier<List<PreciseIndexStatus>> preciseIndexes) {
        this.preciseIndexes = preciseIndexes;
        this.store = store;
        this.requests = requests;
        this.decisions = decisions;
        this.registry = registry;
        this.clock = clock;
        this.staleness = staleness;
    }

    /**
     * Every endpoint's latest metrics and their age, its in-flight counts and picks, its KV events' state in each
     * precise prefix index (when one is configured), and the pool's summary.
     */
    public byte[] endpoints() {
        long now = clock.millis();
        List<PreciseIndexStatus.Snapshot> precise = new ArrayList<>();
        for (PreciseIndexStatus p : preciseIndexes.get()) {
            precise.add(p.status());
        }
        MetricSnapshots counted = registry.scrape(COUNTED::contains);
        Map<String, Double> picks = picksByPodAndPort(counted);
        List<Endpoint> endpoints = store.snapshot();
        int fresh = 0;
        for (Endpoint e : endpoints) {
            if (isFresh(e.metrics(), now)) {
                fresh++;
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberProperty("nowMillis", now);
            g.writeName("pool");
            g.writeStartObject();
            g.writeBooleanProperty("synced", store.synced());
            g.writeNumberProperty("endpoints", endpoints.size());
            g.writeNumberProperty("freshEndpoints", fresh);
            g.writeNumberProperty("stalenessThresholdMillis", staleness.toMillis());
            g.writeNumberProperty("prefixIndexSize", (long) sum(counted, "inference_extension_prefix_indexer_size"));
            g.writeNumberProperty("requestsTotal", (long) sum(counted, "inference_objective_request_total"));
            g.writeNumberProperty("requestErrorsTotal", (long) sum(counted, "inference_objective_request_error_total"));
            if (!precise.isEmpty()) {
                writePreciseIndexes(g, precise);
            }
            g.writeEndObject();
            g.writeName("endpoints");
            g.writeStartArray();
            for (Endpoint e : endpoints) {
                writeEndpoint(g, e, now, picks.getOrDefault(podAndPort(e.info()), 0.0), precise);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    /**
     * The last {@code limit} requests that ended, newest first, each with its stage timings and, when the scheduler
     * keeps them, its profiles' score tables; then the decisions of requests still in flight; and the scheduler's
     * cumulative decision count and time (for rates).
     */
    public byte[] decisions(int limit) {
        Map<String, List<Decision>> byRequest = new HashMap<>();
        List<Decision> recentDecisions = decisions == null ? List.of() : decisions.recent();
        for (Decision d : recentDecisions) {
            byRequest.computeIfAbsent(d.requestId(), k -> new ArrayList<>(1)).add(0, d); // oldest profile first
        }
        List<RequestRecord> ended = requests == null ? List.of() : requests.recent(limit);
        MetricSnapshots counted = registry.scrape("inference_extension_scheduler_e2e_duration_seconds"::equals);
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberProperty("nowMillis", clock.millis());
            g.writeNumberProperty("recorded", requests == null ? 0 : requests.recorded());
            g.writeName("scheduler");
            g.writeStartObject();
            long[] countAndMicros = histogramTotals(counted, "inference_extension_scheduler_e2e_duration_seconds");
            g.writeNumberProperty("decisions", countAndMicros[0]);
            g.writeNumberProperty("decisionMicrosTotal", countAndMicros[1]);
            g.writeEndObject();
            g.writeName("requests");
            g.writeStartArray();
            Set<String> seen = new HashSet<>();
            for (RequestRecord r : ended) {
                seen.add(r.requestId());
                writeRequest(g, r, byRequest.getOrDefault(r.requestId(), List.of()));
            }
            g.writeEndArray();
            g.writeName("inFlight");
            g.writeStartArray();
            Map<String, List<Decision>> open = new LinkedHashMap<>();
            for (Decision d : recentDecisions) {
                if (!seen.contains(d.requestId()) && open.size() < limit) {
                    open.computeIfAbsent(d.requestId(), byRequest::get);
                }
            }
            for (Map.Entry<String, List<Decision>> e : open.entrySet()) {
                g.writeStartObject();
                g.writeStringProperty("requestId", e.getKey());
                g.writeNumberProperty("timeMillis", e.getValue().get(0).timeMillis());
                writeProfiles(g, e.getValue());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    private boolean isFresh(EndpointMetrics m, long now) {
        return m.known() && now - m.scrapedAtMillis() <= staleness.toMillis();
    }

    private static void writePreciseIndexes(JsonGenerator g, List<PreciseIndexStatus.Snapshot> precise) {
        g.writeName("preciseIndexes");
        g.writeStartArray();
        for (PreciseIndexStatus.Snapshot p : precise) {
            int scoredByEvents = 0;
            for (PreciseIndexStatus.Pod pod : p.pods().values()) {
                if (pod.scoredBy().equals("events")) {
                    scoredByEvents++;
                }
            }
            g.writeStartObject();
            g.writeStringProperty("plugin", p.plugin());
            g.writeBooleanProperty("fallback", p.fallback());
            g.writeNumberProperty("entries", p.entries());
            g.writeNumberProperty("capacity", p.capacity());
            g.writeNumberProperty("evictedEntries", p.evictedEntries());
            g.writeNumberProperty("parentUnknownSpans", p.parentUnknownSpans());
            g.writeNumberProperty("pods", p.pods().size());
            g.writeNumberProperty("podsScoredByEvents", scoredByEvents);
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** The endpoint's state in each precise index that follows it (by its {@code ip:port}). */
    private static void writePreciseState(JsonGenerator g, String hostPort, List<PreciseIndexStatus.Snapshot> precise) {
        g.writeName("preciseIndexes");
        g.writeStartArray();
        for (PreciseIndexStatus.Snapshot p : precise) {
            PreciseIndexStatus.Pod pod = p.pods().get(hostPort);
            if (pod == null) {
                continue;
            }
            g.writeStartObject();
            g.writeStringProperty("plugin", p.plugin());
            g.writeNumberProperty("entries", pod.entries());
            g.writeStringProperty("scoredBy", pod.scoredBy());
            g.writeStringProperty("health", pod.health());
            count(g, "lastSequence", pod.lastSequence());
            count(g, "lastEventAgeMillis", pod.lastEventAgeMillis());
            g.writeNumberProperty("batches", pod.batches());
            g.writeNumberProperty("dropped", pod.dropped());
            g.writeNumberProperty("gapsReplayed", pod.gapsReplayed());
            g.writeNumberProperty("gapsUnrecovered", pod.gapsUnrecovered());
            g.writeNumberProperty("sequenceResets", pod.sequenceResets());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private void writeEndpoint(JsonGenerator g, Endpoint e, long now, double picks,
                               List<PreciseIndexStatus.Snapshot> precise) {
        EndpointInfo info = e.info();
        EndpointMetrics m = e.metrics();
        g.writeStartObject();
        g.writeStringProperty("name", info.name());
        g.writeStringProperty("address", info.hostPort());
        g.writeStringProperty("namespace", info.namespace());
        g.writeStringProperty("pod", info.podName());
        g.writeNumberProperty("inFlightRequests", e.inFlightRequests());
        g.writeNumberProperty("inFlightTokens", e.inFlightTokens());
        g.writeNumberProperty("picks", (long) picks);
        g.writeName("metrics");
        g.writeStartObject();
        g.writeBooleanProperty("known", m.known());
        g.writeBooleanProperty("fresh", isFresh(m, now));
        if (m.known()) {
            g.writeNumberProperty("scrapedAtMillis", m.scrapedAtMillis());
            g.writeNumberProperty("ageMillis", Math.max(0, now - m.scrapedAtMillis()));
        } else {
            g.writeNullProperty("scrapedAtMillis");
            g.writeNullProperty("ageMillis");
        }
        count(g, "waitingQueueSize", m.waitingQueueSize());
        count(g, "runningRequests", m.runningRequests());
        ratio(g, "kvCacheUsage", m.kvCacheUsage());
        ratio(g, "prefixCacheHitRate", m.prefixCacheHitRate());
        count(g, "maxActiveAdapters", m.maxActiveAdapters());
        count(g, "cacheBlockSize", m.cacheBlockSize());
        count(g, "cacheNumBlocks", m.cacheNumBlocks());
        strings(g, "activeAdapters", m.activeAdapters());
        strings(g, "waitingAdapters", m.waitingAdapters());
        g.writeEndObject();
        if (!precise.isEmpty()) {
            writePreciseState(g, info.hostPort(), precise);
        }
        g.writeEndObject();
    }

    private static void writeRequest(JsonGenerator g, RequestRecord r, List<Decision> profiles) {
        g.writeStartObject();
        g.writeStringProperty("requestId", r.requestId());
        g.writeNumberProperty("timeMillis", r.receivedMillis());
        g.writeStringProperty("model", r.model());
        g.writeStringProperty("targetModel", r.targetModel());
        g.writeNumberProperty("candidates", r.candidates());
        strings(g, "picked", r.picked());
        g.writeStringProperty("outcome", r.outcome());
        if (!r.message().isEmpty()) {
            g.writeStringProperty("message", r.message());
        }
        count(g, "promptTokens", r.promptTokens());
        count(g, "completionTokens", r.completionTokens());
        RequestRecord.Stages s = r.stages();
        g.writeName("stagesMicros");
        g.writeStartObject();
        micros(g, "parse", s.parseNanos());
        micros(g, "admission", s.admissionNanos());
        micros(g, "scheduling", s.schedulingNanos());
        micros(g, "preRequest", s.preRequestNanos());
        micros(g, "decision", s.decisionNanos());
        micros(g, "responseHeaders", s.responseHeadersNanos());
        micros(g, "total", s.totalNanos());
        g.writeEndObject();
        writeProfiles(g, profiles);
        g.writeEndObject();
    }

    /** Each profile: its scorers and weights, then per candidate each raw score, the weighted total and the pick. */
    private static void writeProfiles(JsonGenerator g, List<Decision> profiles) {
        g.writeName("profiles");
        g.writeStartArray();
        for (Decision d : profiles) {
            g.writeStartObject();
            g.writeStringProperty("profile", d.profile());
            g.writeName("scorers");
            g.writeStartArray();
            for (int s = 0; s < d.scorers().size(); s++) {
                g.writeStartObject();
                g.writeStringProperty("name", d.scorers().get(s));
                g.writeNumberProperty("weight", d.weights()[s]);
                g.writeEndObject();
            }
            g.writeEndArray();
            Set<Endpoint> picked = Set.copyOf(d.picked());
            g.writeName("endpoints");
            g.writeStartArray();
            for (int i = 0; i < d.endpoints().size(); i++) {
                Endpoint e = d.endpoints().get(i);
                g.writeStartObject();
                g.writeStringProperty("endpoint", e.hostPort());
                g.writeName("scores");
                g.writeStartArray();
                for (int s = 0; s < d.scorers().size(); s++) {
                    g.writeNumber(d.rawScores()[s][i]);
                }
                g.writeEndArray();
                g.writeNumberProperty("total", d.totals()[i]);
                g.writeBooleanProperty("picked", picked.contains(e));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void count(JsonGenerator g, String name, long value) {
        if (value < 0) {
            g.writeNullProperty(name);
        } else {
            g.writeNumberProperty(name, value);
        }
    }

    private static void ratio(JsonGenerator g, String name, double value) {
        if (Double.isNaN(value)) {
            g.writeNullProperty(name);
        } else {
            g.writeNumberProperty(name, value);
        }
    }

    private static void micros(JsonGenerator g, String name, long nanos) {
        if (nanos < 0) {
            g.writeNullProperty(name);
        } else {
            g.writeNumberProperty(name, Math.round(nanos / 100.0) / 10.0);
        }
    }

    private static void strings(JsonGenerator g, String name, Iterable<String> values) {
        g.writeName(name);
        g.writeStartArray();
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    private static String podAndPort(EndpointInfo info) {
        return (info.podName().isEmpty() ? info.name() : info.podName()) + "|" + info.port();
    }

    /** Successful scheduler attempts per pod and port, from {@code inference_extension_scheduler_attempts_total}. */
    private static Map<String, Double> picksByPodAndPort(MetricSnapshots snapshots) {
        Map<String, Double> out = new HashMap<>();
        for (MetricSnapshot m : snapshots) {
            if (m instanceof CounterSnapshot c && m.getMetadata().getPrometheusName()
                    .equals("inference_extension_scheduler_attempts")) {
                for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                    if ("success".equals(p.getLabels().get("status"))) {
                        out.merge(p.getLabels().get("pod_name") + "|" + p.getLabels().get("port"), p.getValue(),
                                Double::sum);
                    }
                }
            }
        }
        return out;
    }

    private static double sum(MetricSnapshots snapshots, String name) {
        double total = 0;
        for (MetricSnapshot m : snapshots) {
            String base = name.endsWith("_total") ? name.substring(0, name.length() - 6) : name;
            if (!m.getMetadata().getPrometheusName().equals(base)) {
                continue;
            }
            for (DataPointSnapshot p : m.getDataPoints()) {
                if (p instanceof GaugeSnapshot.GaugeDataPointSnapshot gp) {
                    total += gp.getValue();
                } else if (p instanceof CounterSnapshot.CounterDataPointSnapshot cp) {
                    total += cp.getValue();
                }
            }
        }
        return total;
    }

    /** {count, sum in microseconds} of a histogram over all its label values. */
    private static long[] histogramTotals(MetricSnapshots snapshots, String name) {
        long count = 0;
        double sum = 0;
        for (MetricSnapshot m : snapshots) {
            if (m instanceof HistogramSnapshot h && m.getMetadata().getName().equals(name)) {
                for (HistogramSnapshot.HistogramDataPointSnapshot p : h.getDataPoints()) {
                    count += p.getCount();
                    sum += p.getSum();
                }
            }
        }
        return new long[] {count, Math.round(sum * 1e6)};
    }
}
