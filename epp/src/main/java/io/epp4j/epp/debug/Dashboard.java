package io.epp4j.epp.debug;

import io.epp4j.epp.telemetry.MetricsHttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The metrics port's human side: {@code /debug/endpoints} and {@code /debug/decisions} (JSON) and, on {@code /}, a
 * dashboard that polls them: pool health, the endpoint table, charts of picks per endpoint and decision latency,
 * and the recent decisions with their score breakdown. One HTML file from the jar, no external assets.
 */
public final class Dashboard {

    static final String JSON = "application/json; charset=utf-8";

    private Dashboard() {
    }

    /** Adds the debug pages and the dashboard to {@code server}. */
    public static void install(MetricsHttpServer server, DebugPages pages) {
        byte[] html = resource("dashboard.html");
        server.page("/", new MetricsHttpServer.Page("text/html; charset=utf-8", q -> html));
        server.page("/debug/endpoints", new MetricsHttpServer.Page(JSON, q -> pages.endpoints()));
        server.page("/debug/decisions", new MetricsHttpServer.Page(JSON, q -> pages.decisions(limit(q))));
    }

    /** {@code ?limit=N} (1..1000), else {@link DebugPages#DEFAULT_DECISIONS}. */
    static int limit(Map<String, String> query) {
        String v = query.get("limit");
        if (v == null) {
            return DebugPages.DEFAULT_DECISIONS;
        }
        try {
            return Math.max(1, Math.min(1000, Integer.parseInt(v.trim())));
        } catch (NumberFormatException e) {
            return DebugPages.DEFAULT_DECISIONS;
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
