package io.epp4j.epp.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * OpenTelemetry tracing of the request path ({@code --tracing}): one span per request, continuing the gateway's
 * W3C {@code traceparent}, with a child span per stage and per plugin call. Configured from the standard
 * {@code OTEL_*} environment variables (GAIE's chart sets {@code OTEL_SERVICE_NAME}, {@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_TRACES_EXPORTER}, {@code OTEL_TRACES_SAMPLER} and {@code OTEL_TRACES_SAMPLER_ARG}), GAIE's defaults
 * where unset. A request the sampler drops gets {@link RequestTrace#NONE}, so it costs one sampling decision and
 * nothing after. Thread-safe.
 */
public final class Tracing implements AutoCloseable {

    /** No tracing: every request gets {@link RequestTrace#NONE}. */
    public static final Tracing OFF = new Tracing(null, null);

    /** GAIE's defaults for what the environment leaves unset; only traces are exported. */
    static final Map<String, String> DEFAULTS = Map.of(
            "otel.service.name", "gateway-api-inference-extension/epp",
            "otel.exporter.otlp.endpoint", "http://localhost:4317",
            "otel.traces.sampler", "parentbased_traceidratio",
            "otel.traces.sampler.arg", "0.1",
            "otel.metrics.exporter", "none",
            "otel.logs.exporter", "none");

    private static final TextMapGetter<Map<String, String>> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final OpenTelemetry openTelemetry;
    private final Tracer tracer;
    private final OpenTelemetrySdk sdk;
    private final LongSupplier ticker = System::nanoTime;

    private Tracing(OpenTelemetry openTelemetry, OpenTelemetrySdk sdk) {
        this.openTelemetry = openTelemetry;
        this.tracer = openTelemetry == null ? null : openTelemetry.getTracer("io.epp4j.epp");
        this.sdk = sdk;
    }

    /**
     * The SDK configured from {@code environment} ({@code OTEL_*} names) over GAIE's defaults; closed (flushing
     * spans) with this object.
     */
    public static Tracing fromEnvironment(Map<String, String> environment) {
        Map<String, String> properties = new HashMap<>(DEFAULTS);
        environment.forEach((k, v) -> {
            if (k.startsWith("OTEL_")) {
                properties.put(k.toLowerCase(java.util.Locale.ROOT).replace('_', '.'), v);
            }
        });
        OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
                .disableShutdownHook()
                .addPropertiesCustomizer(c -> properties)
                .build().getOpenTelemetrySdk();
        return new Tracing(sdk, sdk);
    }

    /** Tracing through {@code openTelemetry} (tests, or an embedding application's SDK); not closed by us. */
    public static Tracing using(OpenTelemetry openTelemetry) {
        return new Tracing(openTelemetry, null);
    }

    public boolean enabled() {
        return tracer != null;
    }

    /**
     * Starts the span of one request, a child of the gateway's {@code traceparent} when its headers carry one.
     *
     * @param headers the request headers, lower-case names
     * @param startNanos {@link System#nanoTime} when the request arrived; stage times use the same ticker
     * @return the request's trace, or {@link RequestTrace#NONE} when tracing is off or the sampler dropped it
     */
    public RequestTrace start(Map<String, String> headers, String requestId, long startNanos) {
        if (tracer == null) {
            return RequestTrace.NONE;
        }
        Instant now = Instant.now();
        long nowNanos = ticker.getAsLong();
        Context parent = openTelemetry.getPropagators().getTextMapPropagator()
                .extract(Context.root(), headers, HEADERS);
        long epochNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano() - (nowNanos - startNanos);
        Span span = tracer.spanBuilder("epp.request").setParent(parent).setSpanKind(SpanKind.SERVER)
                .setStartTimestamp(epochNanos, TimeUnit.NANOSECONDS)
                .setAttribute("http.request.header.x-request-id", requestId == null ? "" : requestId)
                .startSpan();
        if (!span.isRecording()) {
            return RequestTrace.NONE;
        }
        return new RequestTrace.Recording(tracer, openTelemetry.getPropagators().getTextMapPropagator(), span,
                epochNanos - startNanos, ticker);
    }

    @Override
    public void close() {
        if (sdk != null) {
            sdk.shutdown().join(5, TimeUnit.SECONDS);
        }
    }
}
