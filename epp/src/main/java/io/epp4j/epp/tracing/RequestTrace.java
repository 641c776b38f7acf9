package io.epp4j.epp.tracing;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapPropagator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The trace of one request, carried with it from the stream to its end (one handle per request). Stages are
 * recorded after the fact from the ticker times the request path reads anyway, so a traced request does little
 * extra work and an untraced one ({@link #NONE}) does none. Used by one thread at a time, like the request.
 */
public abstract class RequestTrace {

    /** A request that is not traced: every method does nothing. */
    public static final RequestTrace NONE = new RequestTrace() {
    };

    private static final ContextKey<RequestTrace> KEY = ContextKey.named("epp4j-request-trace");
    private static final Stage NOTHING = () -> { };
    /** Whether any request was ever traced: until then plugin calls skip looking for a trace. */
    private static volatile boolean anyRecording;

    private RequestTrace() {
    }

    /** Whether this request is traced. */
    public boolean recording() {
        return false;
    }

    /** A child span of the request for a stage that ran from {@code startNanos} to {@code endNanos} (ticker times). */
    public void stage(String name, long startNanos, long endNanos) {
    }

    /**
     * Opens a stage span, current on this thread until the returned handle is closed, so the plugin calls inside it
     * ({@link #plugin}) become its children.
     */
    public Stage enter(String name) {
        return NOTHING;
    }

    /** An open stage span; closing it ends the span. */
    public interface Stage extends AutoCloseable {
        @Override
        void close();
    }

    /** Sets an attribute on the request's span. */
    public void attribute(String key, String value) {
    }

    /** The W3C headers ({@code traceparent}, ...) that make the model server's spans children of this request. */
    public Map<String, String> propagationHeaders() {
        return Map.of();
    }

    /**
     * Ends the request's span at {@code endNanos}; only the first call counts.
     *
     * @param error the error the request ended with, or null when it succeeded
     */
    public void end(long endNanos, String outcome, String error) {
    }

    /**
     * Records one plugin call as a span under the stage open on this thread ({@link #enter}), if any; called for every
     * plugin call, so it returns at once when nothing is traced.
     */
    public static void plugin(String extensionPoint, String type, String name, long startNanos, long endNanos) {
        if (!anyRecording) {
            return;
        }
        RequestTrace trace = Context.current().get(KEY);
        if (trace != null) {
            trace.pluginCall(extensionPoint, type, name, startNanos, endNanos);
        }
    }

    void pluginCall(String extensionPoint, String type, String name, long startNanos, long endNanos) {
    }

    /** A sampled request. */
    static final class Recording extends RequestTrace {
        private final Tracer tracer;
        private final TextMapPropagator propagator;
        private final Span span;
        private final long epochOffsetNanos;
        private final LongSupplier ticker;
        private Span current;
        private boolean ended;

        Recording(Tracer tracer, TextMapPropagator propagator, Span span, long epochOffsetNanos, LongSupplier ticker) {
            this.tracer = tracer;
            this.propagator = propagator;
            this.span = span;
            this.epochOffsetNanos = epochOffsetNanos;
            this.ticker = ticker;
            anyRecording = true;
        }

        @Override
        public boolean recording() {
            return true;
        }

        private long epoch(long tickerNanos) {
            return tickerNanos + epochOffsetNanos;
        }

        @Override
        public void stage(String name, long startNanos, long endNanos) {
            tracer.spanBuilder(name).setParent(Context.root().with(span))
                    .setStartTimestamp(epoch(startNanos), TimeUnit.NANOSECONDS).startSpan()
                    .end(epoch(endNanos), TimeUnit.NANOSECONDS);
        }

        @Override
        public Stage enter(String name) {
            Span stage = tracer.spanBuilder(name).setParent(Context.root().with(span))
                    .setStartTimestamp(epoch(ticker.getAsLong()), TimeUnit.NANOSECONDS).startSpan();
            Span previous = current;
            current = stage;
            Scope scope = Context.root().with(stage).with(KEY, this).makeCurrent();
            return () -> {
                scope.close();
                stage.end(epoch(ticker.getAsLong()), TimeUnit.NANOSECONDS);
                current = previous;
            };
        }

        @Override
        void pluginCall(String extensionPoint, String type, String name, long startNanos, long endNanos) {
            Span parent = current != null ? current : span;
            tracer.spanBuilder(extensionPoint + " " + name).setParent(Context.root().with(parent))
                    .setStartTimestamp(epoch(startNanos), TimeUnit.NANOSECONDS)
                    .setAttribute("epp.extension_point", extensionPoint)
                    .setAttribute("epp.plugin_type", type)
                    .setAttribute("epp.plugin_name", name)
                    .startSpan().end(epoch(endNanos), TimeUnit.NANOSECONDS);
        }

        @Override
        public void attribute(String key, String value) {
            span.setAttribute(key, value);
        }

        @Override
        public Map<String, String> propagationHeaders() {
            Map<String, String> out = new LinkedHashMap<>();
            propagator.inject(Context.root().with(span), out, Map::put);
            return out;
        }

        @Override
        public void end(long endNanos, String outcome, String error) {
            if (ended) {
                return;
            }
            ended = true;
            span.setAttribute("epp.outcome", outcome);
            if (error != null) {
                span.setStatus(StatusCode.ERROR, error);
            }
            span.end(epoch(endNanos), TimeUnit.NANOSECONDS);
        }
    }
}
