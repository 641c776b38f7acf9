package io.epp4j.epp.tracing;

import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.debug.DebugFixture;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --tracing}: spans of the request path exported over OTLP/gRPC, configured from {@code OTEL_*} variables,
 * received by an in-process OTLP trace service on a loopback port.
 */
class TracingTest {

    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String GATEWAY_SPAN = "00f067aa0ba902b7";

    private final List<ExportTraceServiceRequest> received = new CopyOnWriteArrayList<>();
    private final List<String> serviceNames = new CopyOnWriteArrayList<>();
    private Server collector;

    @BeforeEach
    void startCollector() throws Exception {
        collector = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                                       StreamObserver<ExportTraceServiceResponse> answer) {
                        received.add(request);
                        for (ResourceSpans rs : request.getResourceSpansList()) {
                            for (KeyValue kv : rs.getResource().getAttributesList()) {
                                if (kv.getKey().equals("service.name")) {
                                    serviceNames.add(kv.getValue().getStringValue());
                                }
                            }
                        }
                        answer.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        answer.onCompleted();
                    }
                }).build().start();
    }

    @AfterEach
    void stopCollector() {
        collector.shutdownNow();
    }

    private Tracing tracing(String samplerArg) {
        return Tracing.fromEnvironment(Map.of(
                "OTEL_SERVICE_NAME", "epp-under-test",
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getPort(),
                "OTEL_TRACES_EXPORTER", "otlp",
                "OTEL_TRACES_SAMPLER", "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG", samplerArg,
                "OTEL_BSP_SCHEDULE_DELAY", "20"));
    }

    private List<Span> spans() {
        List<Span> out = new ArrayList<>();
        for (ExportTraceServiceRequest r : received) {
            for (ResourceSpans rs : r.getResourceSpansList()) {
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    out.addAll(ss.getSpansList());
                }
            }
        }
        return out;
    }

    private static String hex(com.google.protobuf.ByteString b) {
        return HexFormat.of().formatHex(b.toByteArray());
    }

    private static String attribute(Span s, String key) {
        return s.getAttributesList().stream().filter(kv -> kv.getKey().equals(key)).findFirst()
                .map(kv -> kv.getValue().getStringValue()).orElse(null);
    }

    @Test
    void requestPathSpansContinueTheGatewaysTraceparentAndReachTheOtlpCollector() throws Exception {
        Tracing tracing = tracing("0.1");
        try (tracing; DebugFixture f = new DebugFixture(
                EppServer.Components.defaults().tracing(tracing))) {
            var started = f.start("req-traced", "m", "traceparent", "00-" + TRACE_ID + "-" + GATEWAY_SPAN + "-01");
            HeaderMutation mutation = started.headersAnswer().getRequestHeaders().getResponse().getHeaderMutation();
            String upstream = Messages.setHeader(mutation, "traceparent");
            started.finish(4);
            tracing.close(); // flushes

            List<Span> spans = spans();
            Span root = spans.stream().filter(s -> s.getName().equals("epp.request")).findFirst().orElseThrow();
            assertEquals(TRACE_ID, hex(root.getTraceId()));
            assertEquals(GATEWAY_SPAN, hex(root.getParentSpanId()), "a child of the gateway's span");
            assertEquals(Span.SpanKind.SPAN_KIND_SERVER, root.getKind());
            assertEquals("req-traced", attribute(root, "http.request.header.x-request-id"));
            assertEquals("success", attribute(root, "epp.outcome"));
            assertEquals(started.destination(), attribute(root, "epp.endpoint"));
            assertEquals("00-" + TRACE_ID + "-" + hex(root.getSpanId()) + "-01", upstream,
                    "the model server's spans continue the EPP's");

            Map<String, Span> children = spans.stream().filter(s -> s.getParentSpanId().equals(root.getSpanId()))
                    .collect(Collectors.toMap(Span::getName, s -> s, (a, b) -> a));
            assertEquals(Set.of("parse", "admission", "scheduling", "pre_request", "answer", "response_headers",
                    "response_body"), children.keySet());
            for (Span child : children.values()) {
                assertTrue(child.getStartTimeUnixNano() >= root.getStartTimeUnixNano()
                        && child.getEndTimeUnixNano() <= root.getEndTimeUnixNano(), child.getName() + " within");
            }
            Span scheduling = children.get("scheduling");
            List<Span> plugins = spans.stream().filter(s -> s.getParentSpanId().equals(scheduling.getSpanId()))
                    .toList();
            Set<String> points = plugins.stream().map(s -> attribute(s, "epp.extension_point"))
                    .collect(Collectors.toSet());
            assertTrue(points.containsAll(Set.of("Scorer", "Picker")), points.toString());
            assertTrue(plugins.stream().anyMatch(s -> "queue-scorer".equals(attribute(s, "epp.plugin_type"))),
                    plugins.toString());
            assertEquals(List.of("epp-under-test"), serviceNames.stream().distinct().toList(),
                    "OTEL_SERVICE_NAME names the service");
        }
    }

    @Test
    void theConsoleExporterGaieAcceptsIsAvailable() {
        try (Tracing console = Tracing.fromEnvironment(Map.of("OTEL_TRACES_EXPORTER", "console",
                "OTEL_TRACES_SAMPLER", "always_on"))) {
            RequestTrace trace = console.start(Map.of(), "req-console", System.nanoTime());
            assertTrue(trace.recording());
            trace.end(System.nanoTime(), "success", null);
        }
    }

    @Test
    void unsampledRequestsExportNothingAndAddNoTraceparent() throws Exception {
        Tracing tracing = tracing("0");
        try (tracing; DebugFixture f = new DebugFixture(
                EppServer.Components.defaults().tracing(tracing))) {
            var started = f.start("req-unsampled", "m");
            assertNull(Messages.setHeader(started.headersAnswer().getRequestHeaders().getResponse()
                    .getHeaderMutation(), "traceparent"));
            started.finish(4);
            var parentDropped = f.start("req-parent-unsampled", "m", "traceparent",
                    "00-" + TRACE_ID + "-" + GATEWAY_SPAN + "-00");
            parentDropped.finish(1);
            tracing.close();
            assertEquals(List.of(), spans());
        }
    }
}
