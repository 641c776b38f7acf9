package io.epp4j.epp.scrape;

import com.sun.net.httpserver.HttpServer;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static io.epp4j.epp.scrape.MetricsScraperTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScrapeConnectionPoolsTest {

    private HttpServer server;
    private final AtomicInteger threads = new AtomicInteger();
    private final ScrapeConnectionPools pools = new ScrapeConnectionPools(r -> {
        Thread t = new Thread(r, "test-pool-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    @BeforeEach
    void startServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/metrics", exchange -> {
            byte[] body = "vllm:num_requests_waiting 1\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        pools.close();
        server.stop(0);
    }

    private String get(OkHttpClient client) throws Exception {
        Request request = new Request.Builder()
                .url("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics").build();
        try (Response response = client.newCall(request).execute()) {
            return response.body().string();
        }
    }

    @Test
    void keepsConnectionsAliveAndStillClosesThemOnceIdlePastTheKeepAlive() throws Exception {
        ConnectionPool pool = pools.newPool(16, Duration.ofMillis(300));
        OkHttpClient client = new OkHttpClient.Builder().connectionPool(pool).build();
        get(client);
        get(client);
        assertEquals(1, pool.connectionCount(), "the second call reused the first connection");
        await("idle connection closed", () -> pool.connectionCount() == 0,
                Duration.ofMillis(300).plus(ScrapeConnectionPools.MAX_CLEANUP_DELAY).multipliedBy(3));
    }

    @Test
    void closeEndsTheCleanupThread() throws Exception {
        ConnectionPool pool = pools.newPool(16, Duration.ofSeconds(10));
        get(new OkHttpClient.Builder().connectionPool(pool).build());
        pool.evictAll();
        pools.close();
        await("cleanup thread ended", () -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("test-pool-") && t.isAlive()), Duration.ofSeconds(10));
        assertTrue(threads.get() >= 1, "a cleanup thread had been started");
    }
}
