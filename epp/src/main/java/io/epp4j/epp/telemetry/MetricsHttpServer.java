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
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * The metrics port, over plain HTTP with the JDK server: the registry on {@code GET /metrics} (Prometheus text
 * format), and whatever pages are added with {@link #page} ({@code /debug/*}, the dashboard on {@code /}). Every
 * path goes through one {@link Access} check first.
 */
public final class MetricsHttpServer implements AutoCloseable {

    /** Who may read the metrics port: consulted for every request, from the server's threads. */
    @FunctionalInterface
    public interface Access {
        /** Everyone. */
        Access OPEN = (authorization, path) -> 200;

        /**
         * The HTTP status to refuse the request with (401, 403, 500), or 200 to serve it.
         *
         * @param authorization the request's {@code Authorization} header, or null
         * @param path the request's path
         */
        int check(String authorization, String path);
    }

    /** One page: its content type, rendered from the query parameters. */
    public record Page(String contentType, Function<Map<String, String>, byte[]> render) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final PrometheusRegistry registry;
    private final Access access;
    private final Map<String, Page> pages = new ConcurrentHashMap<>();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    public MetricsHttpServer(int port, PrometheusRegistry registry) throws IOException {
        this(port, registry, Access.OPEN);
    }

    public MetricsHttpServer(int port, PrometheusRegistry registry, Access access) throws IOException {
        this.registry = registry;
        this.access = Objects.requireNonNull(access);
        this.server = HttpServer.create(new InetSocketAddress(port), 0);
        this.executor = Executors.newFixedThreadPool(2, DaemonThreads.named("epp-metrics-http"));
        server.setExecutor(executor);
        server.createContext("/", this::serve);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Serves {@code page} on exactly {@code path} (e.g. {@code /debug/endpoints}, or {@code /}). */
    public void page(String path, Page page) {
        pages.put(path, page);
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            Page page = pages.get(path);
            if (!path.equals("/metrics") && page == null) {
                send(exchange, 404, "text/plain; charset=utf-8", ("not found; metrics are on /metrics"
                        + (pages.isEmpty() ? "" : ", pages on " + new java.util.TreeSet<>(pages.keySet()))
                        + "\n").getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            int status = access.check(exchange.getRequestHeaders().getFirst("Authorization"), path);
            if (status != 200) {
                send(exchange, status, "text/plain; charset=utf-8", (status == 401 ? "Unauthorized\n"
                        : status == 403 ? "Forbidden\n" : "authorization failed\n").getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (page != null) {
                byte[] body = page.render().apply(query(exchange.getRequestURI().getRawQuery()));
                exchange.getResponseHeaders().set("Cache-Control", "no-store");
                send(exchange, 200, page.contentType(), body);
                return;
            }
            MetricSnapshots snapshots = registry.scrape();
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(16 * 1024);
            writer.write(buffer, snapshots, EscapingScheme.ALLOW_UTF8);
            send(exchange, 200, writer.getContentType(), buffer.toByteArray());
        } catch (RuntimeException e) {
            exchange.sendResponseHeaders(500, -1);
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
        }
        return out;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
