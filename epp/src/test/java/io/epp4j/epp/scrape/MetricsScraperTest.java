package io.epp4j.epp.scrape;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsScraperTest {

    static final byte[] VLLM = EngineMappingTest.fixture("vllm.txt");
    static final byte[] SGLANG = EngineMappingTest.fixture("sglang.txt");
    static final String ENGINE_LABEL = "inference.networking.k8s.io/engine-type";

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        final AtomicLong millis = new AtomicLong(1_000_000);

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }
    }

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final EndpointStore store = new EndpointStore();
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ManualClock clock = new ManualClock();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    private LoopbackModelServer server(LoopbackModelServer.Behaviour b) throws Exception {
        return track(LoopbackModelServer.http(b));
    }

    private MetricsScraper scraper(ScrapeConfig config) {
        return track(new MetricsScraper(store, config, registry, clock)).start();
    }

    private static EndpointInfo endpoint(String name, int port, Map<String, String> labels) {
        return new EndpointInfo(name, "ns", name, "127.0.0.1", port, labels);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, condition, Duration.ofSeconds(10));
    }

    static void await(String what, BooleanSupplier condition, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    private double errors(String reason) {
        for (MetricSnapshot s : registry.scrape()) {
            if (s.getMetadata().getName().equals("epp4j_model_server_scrape_errors")) {
                for (CounterSnapshot.CounterDataPointSnapshot p : ((CounterSnapshot) s).getDataPoints()) {
                    if (p.getLabels().get("reason").equals(reason)) {
                        return p.getValue();
                    }
                }
            }
        }
        return 0;
    }

    private EndpointMetrics metrics(String name) {
        return store.get(name).metrics();
    }

    /** Scrapes {@code server} as endpoint "a" with the default config, once it has answered. */
    private MetricsScraper scrapedOnce(LoopbackModelServer server) throws InterruptedException {
        store.upsert(endpoint("a", server.port(), Map.of()));
        MetricsScraper scraper = scraper(ScrapeConfig.defaults());
        await("scraped", () -> metrics("a").known());
        return scraper;
    }

    /** Scrapes {@code server} as endpoint "a" until a failure for {@code reason} counts: "a" is failing, unknown. */
    private void assertScrapeFails(LoopbackModelServer server, ScrapeConfig config, String reason)
            throws InterruptedException {
        store.upsert(endpoint("a", server.port(), Map.of()));
        MetricsScraper scraper = scraper(config);
        await(reason + " error counted", () -> errors(reason) >= 1);
        assertTrue(scraper.failing("a"));
        assertFalse(metrics("a").known());
    }

    @Test
    void scrapesEveryEndpointWithItsEngine() throws Exception {
        LoopbackModelServer vllm = server(LoopbackModelServer.serve(VLLM));
        LoopbackModelServer sglang = server(LoopbackModelServer.serve(SGLANG));
        store.upsert(endpoint("a", vllm.port(), Map.of()));
        MetricsScraper scraper = scraper(ScrapeConfig.defaults());
        store.upsert(endpoint("b", sglang.port(), Map.of(ENGINE_LABEL, "sglang")));
        await("both scraped", () -> metrics("a").known() && metrics("b").known());
        assertEquals(7, metrics("a").runningRequests());
        assertEquals(Duration.ofMillis(clock.millis()).toMillis(), metrics("a").scrapedAtMillis());
        assertEquals(12, metrics("b").runningRequests());
        assertEquals("vllm", scraper.engineOf("a"));
        assertEquals("sglang", scraper.engineOf("b"));
        assertEquals(2, scraper.loopCount());
    }

    @Test
    void scrapesEachEndpointOncePerIntervalNotMoreOften() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        int endpoints = 8;
        for (int i = 0; i < endpoints; i++) {
            store.upsert(endpoint("e" + i, s.port(), Map.of()));
        }
        Duration interval = Duration.ofMillis(100);
        scraper(ScrapeConfig.defaults().withInterval(interval));
        await("all scraped", () -> store.snapshot().stream().allMatch(e -> e.metrics().known()));
        int before = s.requests();
        long start = System.nanoTime();
        Thread.sleep(1000);
        int scrapes = s.requests() - before;
        double intervals = (System.nanoTime() - start) / (double) interval.toNanos();
        // a lane may run a tick up to ScrapeLane.EARLY before it is due, never a whole interval early
        double mostPerEndpoint = intervals * interval.toNanos() / (interval.toNanos() - ScrapeLane.EARLY) + 2;
        assertTrue(scrapes <= endpoints * mostPerEndpoint, scrapes + " scrapes in " + intervals + " intervals");
        assertTrue(scrapes >= endpoints * (intervals / 3), scrapes + " scrapes in " + intervals + " intervals");
    }

    @Test
    void failedScrapeKeepsLastValuesAndRecovers() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        MetricsScraper scraper = scrapedOnce(s);
        EndpointMetrics good = metrics("a");
        s.set(LoopbackModelServer.status(500));
        clock.millis.addAndGet(10_000);
        await("500 counted", () -> errors(MetricsScraper.REASON_HTTP_STATUS) >= 2);
        assertTrue(scraper.failing("a"));
        assertSame(good, metrics("a"), "last values kept, so they age");
        s.set(LoopbackModelServer.serve(VLLM));
        await("recovered", () -> !scraper.failing("a"));
        assertEquals(clock.millis(), metrics("a").scrapedAtMillis());
    }

    @Test
    void slowServerTimesOutAfterOneSecond() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.slow(1_500, VLLM));
        assertScrapeFails(s, ScrapeConfig.defaults(), MetricsScraper.REASON_TIMEOUT);
    }

    @Test
    void hangingServerTimesOutAndOtherEndpointsStayFresh() throws Exception {
        LoopbackModelServer hanging = server(LoopbackModelServer.hang(VLLM));
        LoopbackModelServer healthy = server(LoopbackModelServer.serve(VLLM));
        store.upsert(endpoint("hang", hanging.port(), Map.of()));
        store.upsert(endpoint("ok", healthy.port(), Map.of()));
        scraper(ScrapeConfig.defaults().withTimeout(Duration.ofMillis(200)));
        await("timeouts counted", () -> errors(MetricsScraper.REASON_TIMEOUT) >= 2);
        int before = healthy.requests();
        await("healthy endpoint keeps being scraped", () -> healthy.requests() >= before + 5);
        assertFalse(metrics("hang").known());
        assertTrue(metrics("ok").known());
    }

    @Test
    void manyFastEndpointsThatStartHangingAtOnceDoNotStarveTheOthers() throws Exception {
        // Fast endpoints are scraped synchronously on a few threads; more of them than there are threads start
        // hanging together: each may hold a thread for one timeout, then moves to the async path.
        int hangingCount = MetricsScraper.SYNC_SCRAPE_THREADS * 2;
        List<LoopbackModelServer> turning = new ArrayList<>();
        for (int i = 0; i < hangingCount; i++) {
            LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
            turning.add(s);
            store.upsert(endpoint("turning-" + i, s.port(), Map.of()));
        }
        LoopbackModelServer healthy = server(LoopbackModelServer.serve(VLLM));
        store.upsert(endpoint("ok", healthy.port(), Map.of()));
        scraper(ScrapeConfig.defaults().withTimeout(Duration.ofMillis(300)));
        await("every endpoint scraped", () -> store.snapshot().stream().allMatch(e -> e.metrics().known()));
        for (LoopbackModelServer s : turning) {
            s.set(LoopbackModelServer.hang(VLLM));
        }
        await("every turned endpoint timed out", () -> errors(MetricsScraper.REASON_TIMEOUT) >= hangingCount);
        int before = healthy.requests();
        // at 50 ms a loop, 20 scrapes take about a second when nothing is starved
        await("the healthy endpoint keeps being scraped", () -> healthy.requests() >= before + 20);
        assertTrue(metrics("ok").known());
    }

    @Test
    void vanishedServerIsAConnectError() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        store.upsert(endpoint("gone", port, Map.of()));
        MetricsScraper scraper = scraper(ScrapeConfig.defaults());
        await("connect error counted", () -> errors(MetricsScraper.REASON_CONNECT) >= 2);
        assertTrue(scraper.failing("gone"));
    }

    @Test
    void serverThatStopsMidwayKeepsTheLastValues() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        MetricsScraper scraper = scrapedOnce(s);
        EndpointMetrics good = metrics("a");
        s.close();
        await("failing", () -> scraper.failing("a"));
        assertSame(good, metrics("a"));
    }

    @Test
    void garbageBodyIsACountedErrorNotACrash() throws Exception {
        byte[] garbage = new byte[50_000];
        new java.util.Random(1).nextBytes(garbage);
        LoopbackModelServer s = server(LoopbackModelServer.serve(garbage));
        store.upsert(endpoint("a", s.port(), Map.of()));
        MetricsScraper scraper = scraper(ScrapeConfig.defaults());
        await("no-metrics errors counted", () -> errors(MetricsScraper.REASON_NO_METRICS) >= 3);
        s.set(LoopbackModelServer.serve(VLLM));
        await("loop survived and recovered", () -> metrics("a").known());
        assertFalse(scraper.failing("a"));
    }

    @Test
    void endpointRemovedMidScrapeDropsTheInFlightResult() throws Exception {
        LoopbackModelServer hanging = server(LoopbackModelServer.hang(VLLM));
        LoopbackModelServer other = server(LoopbackModelServer.serve(VLLM));
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            deadPort = socket.getLocalPort();
        }
        store.upsert(endpoint("a", hanging.port(), Map.of()));
        MetricsScraper scraper = scraper(ScrapeConfig.defaults().withTimeout(Duration.ofSeconds(5)));
        assertTrue(hanging.arrived.await(10, TimeUnit.SECONDS), "scrape in flight");
        store.remove("a");
        assertEquals(0, scraper.loopCount());
        // Same name, new address: the old in-flight answer must not land in the new entry.
        store.upsert(endpoint("a", deadPort, Map.of("v", "2")));
        hanging.release();
        store.upsert(endpoint("b", other.port(), Map.of()));
        await("b scraped a few times", () -> other.requests() >= 5);
        assertFalse(metrics("a").known());
        assertEquals(1, hanging.requests(), "the removed endpoint's loop stopped");
    }

    @Test
    void reusesOneKeepAliveConnectionPerEndpoint() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        store.upsert(endpoint("a", s.port(), Map.of()));
        scraper(ScrapeConfig.defaults().withInterval(Duration.ofMillis(10)));
        await("20 scrapes", () -> s.requests() >= 20);
        assertEquals(1, s.distinctClientPorts());
        assertEquals("identity", s.lastAcceptEncoding, "no gzip: the model server would compress every 50 ms");
    }

    @Test
    void scrapesHttpsWithSelfSignedCertificateWhenInsecureSkipVerify() throws Exception {
        LoopbackModelServer s = track(LoopbackModelServer.https(LoopbackModelServer.serve(VLLM)));
        store.upsert(endpoint("a", s.port(), Map.of()));
        scraper(ScrapeConfig.defaults().withEndpointAccess("https", "/metrics", true));
        await("scraped over TLS", () -> metrics("a").known());
        assertEquals(7, metrics("a").runningRequests());
    }

    @Test
    void rejectsSelfSignedCertificateWhenVerifying() throws Exception {
        LoopbackModelServer s = track(LoopbackModelServer.https(LoopbackModelServer.serve(VLLM)));
        assertScrapeFails(s, ScrapeConfig.defaults().withEndpointAccess("https", "/metrics", false),
                MetricsScraper.REASON_IO);
    }

    @Test
    void closeStopsLoopsAndThreads() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        for (int i = 0; i < 8; i++) {
            store.upsert(endpoint("e" + i, s.port(), Map.of()));
        }
        MetricsScraper scraper = new MetricsScraper(store, ScrapeConfig.defaults(), registry, clock).start();
        await("all scraped", () -> store.snapshot().stream().allMatch(e -> e.metrics().known()));
        scraper.close();
        assertEquals(0, scraper.loopCount());
        await("scrape threads gone", () -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("epp4j-scrape") && t.isAlive()));
        assertEquals(0, scraper.connectionCount());
        int after = s.requests();
        store.upsert(endpoint("late", s.port(), Map.of()));
        assertEquals(0, scraper.loopCount());
        assertEquals(after, s.requests());
        assertTrue(registry.scrape().stream().noneMatch(m -> m.getMetadata().getName().startsWith("epp4j_model_server")),
                "metrics unregistered");
    }

    @Test
    void exposesScrapeAgeAndDuration() throws Exception {
        LoopbackModelServer s = server(LoopbackModelServer.serve(VLLM));
        scrapedOnce(s);
        List<String> names = registry.scrape().stream().map(m -> m.getMetadata().getName()).toList();
        assertTrue(names.containsAll(List.of("epp4j_model_server_scrape_duration_seconds",
                "epp4j_model_server_scrape_age_seconds", "epp4j_model_server_scrape_errors")), names.toString());
    }

    @Test
    void unlabelledBodyPartsOfOtherEnginesAreIgnored() throws Exception {
        byte[] mixed = (new String(SGLANG, StandardCharsets.UTF_8) + "vllm:num_requests_waiting 4\n")
                .getBytes(StandardCharsets.UTF_8);
        LoopbackModelServer s = server(LoopbackModelServer.serve(mixed));
        scrapedOnce(s);
        assertEquals(4, metrics("a").waitingQueueSize());
        assertEquals(-1, metrics("a").runningRequests());
    }
}
