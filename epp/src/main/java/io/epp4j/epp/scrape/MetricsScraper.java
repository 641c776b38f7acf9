package io.epp4j.epp.scrape;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.Dispatcher;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps every endpoint's {@link EndpointMetrics} fresh: one scrape loop per endpoint of the {@link EndpointStore},
 * started and stopped as endpoints come and go; thread-safe.
 *
 * <p>Loops are timers spread over {@link #SYNC_SCRAPE_THREADS} single-threaded lanes. A tick scrapes an endpoint
 * that answered fast last time synchronously on its lane; a new, slow or failing endpoint gets an asynchronous GET
 * on OkHttp's dispatcher instead (at most {@link ScrapeConfig#maxConcurrentScrapes()} in flight), so a hanging
 * server never holds a lane. All calls share one OkHttp configuration with keep-alive connections; the body is
 * parsed on the thread that read it and the result is published with {@link EndpointStore#updateMetrics}. The
 * next scrape is due in the endpoint's lane's first slot one interval after the previous one was due (see
 * {@link #slotAtOrAfter}). A failed scrape publishes nothing, so the last values stay and age; failures are
 * counted by reason and logged only when an endpoint's state flips (ok → failing with the reason, failing → ok).
 * The request path only reads the store.
 */
public final class MetricsScraper implements EndpointStore.Listener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsScraper.class);

    /** Reasons of failed scrapes: the label values of {@code epp4j_model_server_scrape_errors_total}. */
    public static final String REASON_TIMEOUT = "timeout";
    public static final String REASON_CONNECT = "connect";
    public static final String REASON_HTTP_STATUS = "http_status";
    public static final String REASON_IO = "io";
    public static final String REASON_TOO_LARGE = "body_too_large";
    public static final String REASON_NO_METRICS = "no_metrics";

    private static final int INITIAL_BUFFER = 64 << 10;
    private static final int POOL_SHARDS = 16;
    private static final int KEEP_BUFFER = 4 << 20;
    private static final String ACCEPT =
            "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

    private final EndpointStore store;
    private final ScrapeConfig config;
    private final Clock clock;
    private final PrometheusRegistry registry;
    private final Map<String, EngineMapping> mappings = new HashMap<>();
    private final Map<String, Loop> loops = new ConcurrentHashMap<>();
    private final ScrapeLane[] lanes;
    /** Cancels scrapes that overran the timeout: a check every {@link #WATCHDOG_PERIOD_NANOS}, not a timer per call. */
    private final ScheduledThreadPoolExecutor watchdog;
    private final AtomicInteger nextLane = new AtomicInteger();
    private final ScrapeConnectionPools pools;
    private final ExecutorService callExecutor;
    /** Threads that time the loops and run fast scrapes synchronously. */
    static final int SYNC_SCRAPE_THREADS = 4;
    static final long WATCHDOG_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** A scrape slower than this sends the endpoint's next scrapes through the async dispatcher. */
    static final long SLOW_SCRAPE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    private final OkHttpClient client;
    private final OkHttpClient[] shards;
    private final long intervalNanos;
    /** Lane k's ticks fall on {@code slotOrigin + k * interval / lanes + n * interval}. */
    private final long slotOrigin = System.nanoTime();
    private final Counter errors;
    private final Counter skippedLines;
    private final Histogram duration;
    private final GaugeWithCallback age;
    private volatile boolean started;
    private volatile boolean closed;

    /**
     * @param registry where the scrape metrics are registered (and unregistered on {@link #close()})
     * @param clock stamps {@link EndpointMetrics#scrapedAtMillis()}
     */
    public MetricsScraper(EndpointStore store, ScrapeConfig config, PrometheusRegistry registry, Clock clock) {
        this.store = store;
        this.config = config;
        this.clock = clock;
        this.registry = registry;
        config.engines().forEach((name, engine) -> {
            EngineMapping m = EngineMapping.compile(engine);
            if (!m.droppedMatchers().isEmpty()) {
                LOG.warn("Engine {}: only equality matchers are used, ignoring {}", name, m.droppedMatchers());
            }
            mappings.put(name, m);
        });
        this.intervalNanos = config.interval().toNanos();
        // Fast endpoints are scraped synchronously on the lanes (no dispatcher hand-off: ~1/3 less CPU per
        // scrape); an endpoint that was slow or failing goes through OkHttp's async dispatcher instead, so a
        // hanging server can hold a lane for at most one timeout.
        ThreadFactory laneThreads = DaemonThreads.numbered("epp4j-scrape-timer");
        lanes = new ScrapeLane[SYNC_SCRAPE_THREADS];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new ScrapeLane(laneThreads, System::nanoTime);
        }
        watchdog = new ScheduledThreadPoolExecutor(1, DaemonThreads.numbered("epp4j-scrape-watchdog"));
        long watchdogPeriod = Math.max(1, Math.min(WATCHDOG_PERIOD_NANOS, config.timeout().toNanos() / 4));
        watchdog.scheduleAtFixedRate(this::cancelOverdueScrapes, watchdogPeriod, watchdogPeriod, TimeUnit.NANOSECONDS);
        // Threads exist only while scrapes are in flight; the dispatcher bounds how many.
        callExecutor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                DaemonThreads.numbered("epp4j-scrape"));
        Dispatcher dispatcher = new Dispatcher(callExecutor);
        dispatcher.setMaxRequests(config.maxConcurrentScrapes());
        dispatcher.setMaxRequestsPerHost(config.maxConcurrentScrapes());
        OkHttpClient.Builder builder = new OkHttpClient.Builder()
                .dispatcher(dispatcher)
                .protocols(List.of(Protocol.HTTP_1_1))
                // The scrape timeout is enforced by cancelOverdueScrapes(). OkHttp's own timeouts cost a thread
                // wake-up per call (call timeout) or a poll per socket read (read timeout).
                .callTimeout(Duration.ZERO)
                .connectTimeout(config.timeout())
                .readTimeout(Duration.ZERO)
                .writeTimeout(Duration.ZERO)
                .followRedirects(false)
                .followSslRedirects(false)
                // OkHttp's cache layer parses every response's Content-Type with a regex, even without a cache
                // (a few % of a scrape's CPU); the parser detects the format itself, so the body goes up untyped.
                .addNetworkInterceptor(MetricsScraper::withoutContentType);
        if (config.scheme().equals("https") && config.insecureSkipVerify()) {
            X509TrustManager trustAll = trustAll();
            builder.sslSocketFactory(trustAllContext(trustAll).getSocketFactory(), trustAll)
                    .hostnameVerifier((host, session) -> true);
        }
        client = builder.build();
        // OkHttp scans every pooled connection on each call and each release (O(connections) per scrape: 30 %
        // of the scraper's CPU at 256 endpoints). Clients derived with newBuilder() share the dispatcher, its
        // threads and all settings; only the connection pool is split, so each scan sees ~1/16 of the endpoints.
        shards = new OkHttpClient[POOL_SHARDS];
        pools = new ScrapeConnectionPools(DaemonThreads.numbered("epp4j-scrape-pool"));
        for (int i = 0; i < POOL_SHARDS; i++) {
            shards[i] = client.newBuilder().connectionPool(pools.newPool(1024, Duration.ofSeconds(10))).build();
        }
        errors = Counter.builder().name("epp4j_model_server_scrape_errors")
                .help("Failed model-server metrics scrapes, by reason.").labelNames("reason").build();
        skippedLines = Counter.builder().name("epp4j_model_server_scrape_skipped_lines")
                .help("Malformed lines of selected metrics skipped while parsing model-server metrics.").build();
        duration = Histogram.builder().name("epp4j_model_server_scrape_duration_seconds")
                .help("Duration of model-server metrics scrapes (successful or not).")
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
                .classicOnly().build();
        age = GaugeWithCallback.builder().name("epp4j_model_server_scrape_age_seconds")
                .help("Time since the endpoint's last successful metrics scrape.").labelNames("endpoint")
                .callback(cb -> {
                    long now = clock.millis();
                    for (Loop l : loops.values()) {
                        long last = l.lastSuccessMillis;
                        if (last > 0) {
                            cb.call(Math.max(0, now - last) / 1000.0, l.info.name());
                        }
                    }
                }).build();
        registry.register(errors);
        registry.register(skippedLines);
        registry.register(duration);
        registry.register(age);
    }

    private static Response withoutContentType(Interceptor.Chain chain) throws IOException {
        Response response = chain.proceed(chain.request());
        ResponseBody body = response.body();
        return response.newBuilder().body(ResponseBody.create(body.source(), null, body.contentLength())).build();
    }


    private static X509TrustManager trustAll() {
        return new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
    }

    private static SSLContext trustAllContext(X509TrustManager tm) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create a TLS context", e);
        }
    }

    /** Listens to the store and starts a loop for every endpoint already in it. Idempotent. */
    public MetricsScraper start() {
        synchronized (this) {
            if (started || closed) {
                return this;
            }
            started = true;
        }
        store.addListener(this);
        for (EndpointInfo info : store.endpoints()) {
            onAdded(info);
        }
        return this;
    }

    @Override
    public void onAdded(EndpointInfo endpoint) {
        if (closed) {
            return;
        }
        Loop[] replaced = new Loop[1];
        Loop loop = loops.compute(endpoint.name(), (name, existing) -> {
            if (existing != null && existing.info.equals(endpoint)) {
                return existing;
            }
            replaced[0] = existing;
            return new Loop(endpoint);
        });
        if (replaced[0] != null) {
            replaced[0].stop();
        }
        if (loop.startOnce()) {
            if (closed) {
                loop.stop();
            }
        }
    }

    @Override
    public void onRemoved(EndpointInfo endpoint) {
        Loop[] removed = new Loop[1];
        loops.computeIfPresent(endpoint.name(), (name, existing) -> {
            if (existing.info.equals(endpoint)) {
                removed[0] = existing;
                return null;
            }
            return existing;
        });
        if (removed[0] != null) {
            removed[0].stop();
        }
    }

    /** Number of running loops (one per endpoint). */
    public int loopCount() {
        return loops.size();
    }

    /** The engine an endpoint is scraped as, or null if it has no loop. */
    public String engineOf(String endpointName) {
        Loop l = loops.get(endpointName);
        return l == null ? null : l.mapping.config().name();
    }

    /** Whether an endpoint's most recent scrape failed (false for unknown endpoints). */
    public boolean failing(String endpointName) {
        Loop l = loops.get(endpointName);
        return l != null && l.failing;
    }

    /**
     * The first of lane {@code lane}'s slots at or after {@code nanos}. All loops of a lane tick in the same slots,
     * so the lane runs them as one burst (one wake-up); the lanes' slots are staggered over the interval, so the
     * bursts of different lanes do not pile up on the two cores at the same moment.
     */
    private long slotAtOrAfter(long nanos, int lane) {
        long phase = slotOrigin + lane * (intervalNanos / lanes.length);
        return nanos + Math.floorMod(phase - nanos, intervalNanos);
    }

    private void cancelOverdueScrapes() {
        long now = System.nanoTime();
        for (Loop l : loops.values()) {
            l.cancelIfOverdue(now);
        }
    }

    /** Open connections across the shared client's pools (for tests and diagnostics). */
    int connectionCount() {
        int n = 0;
        for (OkHttpClient c : shards) {
            n += c.connectionPool().connectionCount();
        }
        return n;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (Loop l : loops.values()) {
            l.stop();
        }
        loops.clear();
        watchdog.shutdownNow();
        for (ScrapeLane lane : lanes) {
            lane.close();
        }
        client.dispatcher().cancelAll();
        callExecutor.shutdown();
        try {
            boolean lanesEnded = true;
            for (ScrapeLane lane : lanes) {
                lanesEnded &= lane.awaitTermination(2, TimeUnit.SECONDS);
            }
            lanesEnded &= watchdog.awaitTermination(2, TimeUnit.SECONDS);
            if (!lanesEnded || !callExecutor.awaitTermination(2, TimeUnit.SECONDS)) {
                callExecutor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            callExecutor.shutdownNow();
        }
        for (OkHttpClient c : shards) {
            c.connectionPool().evictAll();
        }
        client.connectionPool().evictAll();
        pools.close();
        registry.unregister(errors);
        registry.unregister(skippedLines);
        registry.unregister(duration);
        registry.unregister(age);
    }

    /**
     * Scratch space for one body at a time. Per thread rather than per endpoint: the few threads that scrape keep
     * reusing buffers that stay in the CPU cache, where 256 endpoints' own buffers would not.
     */
    private static final class BodyBuffer {
        byte[] bytes = new byte[INITIAL_BUFFER];
    }

    private static final ThreadLocal<BodyBuffer> BODY_BUFFER = ThreadLocal.withInitial(BodyBuffer::new);

    /** One endpoint's scrape loop: at most one scrape in flight, the next scheduled when it ends. */
    private final class Loop implements Callback {
        final EndpointInfo info;
        final EngineMapping mapping;
        final Request request;
        final OkHttpClient http;
        final int laneIndex;
        final ScrapeLane lane;
        final Extraction extraction;
        final PrefixCacheRate prefixCache = new PrefixCacheRate();
        EndpointMetrics current = EndpointMetrics.UNKNOWN;
        boolean stopped;
        boolean begun;
        Call call;
        long startedNanos;
        /** When the current tick was due; the next one is due one interval later. */
        long dueNanos;
        /** A scrape is in flight (set and cleared under the loop's lock). */
        boolean inFlight;
        /** The in-flight scrape was cancelled by the watchdog. */
        boolean timedOut;
        volatile boolean failing;
        /** The last scrape failed or took longer than {@link #SLOW_SCRAPE_NANOS}: scrape asynchronously. */
        volatile boolean slow = true;
        volatile long lastSuccessMillis;

        Loop(EndpointInfo info) {
            this.info = info;
            String engine = config.engineFor(info.labels());
            String labelValue = info.labels().get(config.engineLabelKey());
            if (labelValue != null && !labelValue.isEmpty() && !labelValue.equals(engine)) {
                LOG.warn("Endpoint {} has unknown engine {}={}; scraping it as {}", info.name(),
                        config.engineLabelKey(), labelValue, engine);
            }
            this.mapping = mappings.get(engine);
            this.http = shards[Math.floorMod(info.name().hashCode(), POOL_SHARDS)];
            this.laneIndex = Math.floorMod(nextLane.getAndIncrement(), lanes.length);
            this.lane = lanes[laneIndex];
            this.extraction = mapping.parser().newExtraction();
            HttpUrl url = HttpUrl.parse(config.scheme() + "://" + info.hostPort() + config.path());
            this.request = url == null ? null
                    : new Request.Builder().url(url).header("Accept", ACCEPT)
                    // vLLM (prometheus_client) gzips on request: costly on both sides every 50 ms, for a LAN hop.
                    .header("Accept-Encoding", "identity").get().build();
            if (url == null) {
                LOG.error("Endpoint {}: cannot build a metrics URL from {}://{}{}; not scraping it", info.name(),
                        config.scheme(), info.hostPort(), config.path());
            }
        }

        synchronized boolean startOnce() {
            if (begun || stopped || request == null) {
                return false;
            }
            begun = true;
            dueNanos = System.nanoTime(); // a new endpoint is scraped at once, then in its lane's slots
            if (!lane.schedule(dueNanos, this::tick)) {
                // added while the scraper closes
                stopped = true;
                return false;
            }
            return true;
        }

        void tick() {
            Call c;
            synchronized (this) {
                if (stopped) {
                    return;
                }
                startedNanos = System.nanoTime();
                c = http.newCall(request);
                call = c;
                inFlight = true;
                timedOut = false;
            }
            if (slow) {
                try {
                    c.enqueue(this);
                } catch (RuntimeException e) {
                    // The dispatcher refuses work only while closing.
                    finishFailed(REASON_IO, e.toString());
                }
                return;
            }
            Response response;
            try {
                response = c.execute();
            } catch (IOException e) {
                onFailure(c, e);
                return;
            } catch (RuntimeException e) {
                finishFailed(REASON_IO, e.toString());
                return;
            }
            onResponse(c, response);
        }

        synchronized void stop() {
            stopped = true;
            if (call != null) {
                call.cancel();
            }
        }

        @Override
        public void onFailure(Call c, IOException e) {
            finishFailed(failureReason(e), failureDetail(e));
        }

        /** The reason counted for a failed call: a timeout if the watchdog cancelled it, else by exception. */
        private synchronized String failureReason(IOException e) {
            return timedOut ? REASON_TIMEOUT : reasonOf(e);
        }

        private synchronized String failureDetail(IOException e) {
            return timedOut ? "no complete answer within " + config.timeout().toMillis() + " ms" : e.toString();
        }

        /** Cancels the scrape in flight if it started more than the timeout ago. */
        synchronized void cancelIfOverdue(long now) {
            if (inFlight && !timedOut && now - startedNanos > config.timeout().toNanos()) {
                timedOut = true;
                call.cancel();
            }
        }

        @Override
        public void onResponse(Call c, Response response) {
            String reason;
            String detail;
            try (response) {
                if (response.code() != 200) {
                    reason = REASON_HTTP_STATUS;
                    detail = "HTTP " + response.code();
                } else {
                    BodyBuffer buffer = BODY_BUFFER.get();
                    int length = readBody(response.body(), buffer);
                    if (length < 0) {
                        reason = REASON_TOO_LARGE;
                        detail = "body larger than " + config.maxBodyBytes() + " bytes";
                    } else {
                        mapping.parser().parse(buffer.bytes, length, extraction);
                        if (extraction.skippedLines() > 0) {
                            skippedLines.inc(extraction.skippedLines());
                        }
                        EndpointMetrics m = mapping.toMetrics(extraction, current, prefixCache, clock.millis());
                        if (buffer.bytes.length > KEEP_BUFFER) {
                            buffer.bytes = new byte[INITIAL_BUFFER];
                        }
                        if (m == null) {
                            reason = REASON_NO_METRICS;
                            detail = "none of the " + mapping.config().name() + " metrics found in " + length
                                    + " bytes";
                        } else {
                            finishOk(m);
                            return;
                        }
                    }
                }
            } catch (IOException e) {
                reason = failureReason(e);
                detail = failureDetail(e);
            } catch (RuntimeException e) {
                reason = REASON_IO;
                detail = e.toString();
            }
            finishFailed(reason, detail);
        }

        /** Reads the whole body into {@code buffer}; returns its length, or -1 if over the limit. */
        private int readBody(ResponseBody body, BodyBuffer buffer) throws IOException {
            int max = config.maxBodyBytes();
            long declared = body.contentLength();
            if (declared > max) {
                return -1;
            }
            if (declared > buffer.bytes.length) {
                buffer.bytes = new byte[(int) declared];
            }
            BufferedSource source = body.source();
            int n = 0;
            while (true) {
                if (n == buffer.bytes.length) {
                    if (n > max) {
                        return -1;
                    }
                    buffer.bytes = java.util.Arrays.copyOf(buffer.bytes, (int) Math.min((long) max + 1, n * 2L));
                }
                int r = source.read(buffer.bytes, n, buffer.bytes.length - n);
                if (r < 0) {
                    return n > max ? -1 : n;
                }
                n += r;
            }
        }

        private void finishOk(EndpointMetrics m) {
            long took = System.nanoTime() - startedNanos;
            duration.observe(took / 1e9);
            slow = took > SLOW_SCRAPE_NANOS;
            boolean recovered;
            synchronized (this) {
                if (stopped) {
                    // Removed while in flight: the result belongs to an endpoint that is gone.
                    return;
                }
                store.updateMetrics(info.name(), m);
                current = m;
                lastSuccessMillis = m.scrapedAtMillis();
                recovered = failing;
                failing = false;
                scheduleNext();
            }
            if (recovered) {
                LOG.info("Metrics scrape of endpoint {} ({}) recovered", info.name(), request.url());
            }
        }

        private void finishFailed(String reason, String detail) {
            boolean wasFailing;
            synchronized (this) {
                if (stopped) {
                    return;
                }
                duration.observe((System.nanoTime() - startedNanos) / 1e9);
                slow = true;
                wasFailing = failing;
                failing = true;
                // counted after the state changed, so whoever sees the count also sees the endpoint failing
                errors.labelValues(reason).inc();
                scheduleNext();
            }
            if (!wasFailing) {
                LOG.warn("Metrics scrape of endpoint {} ({}) failing: {} ({}); keeping its last metrics",
                        info.name(), request.url(), reason, detail);
            }
        }

        private void scheduleNext() {
            inFlight = false;
            // the lane's first slot one interval after the previous tick was due (ticks may run a little early),
            // or its next slot after an overrun
            dueNanos = slotAtOrAfter(Math.max(dueNanos + intervalNanos, System.nanoTime()), laneIndex);
            if (!lane.schedule(dueNanos, this::tick)) {
                stopped = true;
            }
        }
    }

    static String reasonOf(IOException e) {
        if (e instanceof InterruptedIOException) {
            return REASON_TIMEOUT;
        }
        if (e instanceof ConnectException || e instanceof NoRouteToHostException || e instanceof UnknownHostException) {
            return REASON_CONNECT;
        }
        return REASON_IO;
    }
}
