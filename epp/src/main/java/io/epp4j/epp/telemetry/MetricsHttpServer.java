package io.epp4j.epp.telemetry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.epp4j.epp.concurrent.DaemonThreads;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Serves the registry on {@code GET /metrics} (Prometheus text format) over plain HTTP, with the JDK server. */
public final class MetricsHttpServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;
    private final PrometheusRegistry registry;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    public MetricsHttpServer(int port, PrometheusRegistry registry) throws IOException {
        this.registry = registry;
        this.server = HttpServer.create(new InetSocketAddress(port), 0);
        this.executor = Executors.newFixedThreadPool(2, DaemonThreads.named("epp-metrics-http"));
        server.setExecutor(executor);
        server.createContext("/metrics", this::metrics);
        server.createContext("/", this::notFound);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void metrics(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            MetricSnapshots snapshots = registry.scrape();
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(16 * 1024);
            writer.write(buffer, snapshots, EscapingScheme.ALLOW_UTF8);
            exchange.getResponseHeaders().set("Content-Type", writer.getContentType());
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(200, head ? -1 : buffer.size());
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    buffer.writeTo(out);
                }
            }
        }
    }

    private void notFound(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = "not found; metrics are on /metrics\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(404, body.length);
            exchange.getResponseBody().write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
