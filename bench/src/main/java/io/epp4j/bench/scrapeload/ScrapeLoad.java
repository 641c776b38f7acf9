package io.epp4j.bench.scrapeload;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.scrape.MetricsScraper;
import io.epp4j.epp.scrape.ScrapeConfig;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Scrape-load benchmark: the real {@link MetricsScraper} against N loopback model servers serving the 30 KB vLLM
 * sample, at the given interval. The servers run in a child JVM ({@link SampleServer}) so the CPU measured here
 * is the scraper's (plus this JVM's idle background, measured first as the baseline).
 *
 * <p>Phases: idle baseline (scraper not started), warm-up, measurement. Reported: process CPU (cores =
 * CPU-time delta / wall time) minus the age sampler's own thread CPU; scrapes/s and errors from the scraper's
 * own metrics; the distribution of snapshot age ({@code now - scrapedAtMillis}) sampled across all endpoints
 * every 2 ms (HdrHistogram); the server process's CPU for reference.
 *
 * <p>Usage: {@code java -cp bench/target/bench.jar io.epp4j.bench.scrapeload.ScrapeLoad [--endpoints 256]
 * [--interval-ms 50] [--seconds 20] [--warmup-seconds 5] [--baseline-seconds 5]}
 */
public final class ScrapeLoad {

    private ScrapeLoad() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        int endpoints = Integer.parseInt(opts.getOrDefault("endpoints", "256"));
        long intervalMs = Long.parseLong(opts.getOrDefault("interval-ms", "50"));
        int seconds = Integer.parseInt(opts.getOrDefault("seconds", "20"));
        int warmup = Integer.parseInt(opts.getOrDefault("warmup-seconds", "5"));
        int baseline = Integer.parseInt(opts.getOrDefault("baseline-seconds", "5"));

        String java = ProcessHandle.current().info().command().orElse("java");
        Process server = new ProcessBuilder(java, "-Xmx512m", "-Dsun.net.httpserver.nodelay=true", "-cp", System.getProperty("java.class.path"),
                SampleServer.class.getName(), Integer.toString(endpoints))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader serverOut = new BufferedReader(new InputStreamReader(server.getInputStream(),
                StandardCharsets.UTF_8));
        String line = serverOut.readLine();
        if (line == null || !line.startsWith("PORTS ")) {
            throw new IllegalStateException("sample server did not start: " + line);
        }
        List<EndpointInfo> infos = new ArrayList<>();
        for (String p : line.substring(6).split(",")) {
            infos.add(EndpointInfo.ofAddress("127.0.0.1", Integer.parseInt(p)));
        }

        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();

        EndpointStore store = new EndpointStore();
        store.replaceAll(infos);
        PrometheusRegistry registry = new PrometheusRegistry();
        ScrapeConfig config = ScrapeConfig.defaults().withInterval(Duration.ofMillis(intervalMs));

        // Baseline: this JVM doing nothing but existing (JIT, GC threads) for the same kind of window.
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        Thread.sleep(baseline * 1000L);
        double idleCores = (os.getProcessCpuTime() - cpu0) / (double) (System.nanoTime() - wall0);

        try (MetricsScraper scraper = new MetricsScraper(store, config, registry, Clock.systemUTC())) {
            scraper.start();
            Thread.sleep(warmup * 1000L);

            double scrapes0 = scrapeCount(registry);
            double errors0 = errorCount(registry);
            long serverCpu0 = serverCpuNanos(server);
            Histogram age = new Histogram(60_000, 3);
            long samplerCpu0 = threads.getCurrentThreadCpuTime();
            cpu0 = os.getProcessCpuTime();
            wall0 = System.nanoTime();
            long end = wall0 + seconds * 1_000_000_000L;
            while (System.nanoTime() < end) {
                long now = System.currentTimeMillis();
                for (Endpoint e : store.snapshot()) {
                    long scrapedAt = e.metrics().scrapedAtMillis();
                    age.recordValue(scrapedAt == 0 ? 59_999 : Math.min(59_999, Math.max(0, now - scrapedAt)));
                }
                Thread.sleep(2);
            }
            long wall = System.nanoTime() - wall0;
            long cpu = os.getProcessCpuTime() - cpu0;
            long samplerCpu = threads.getCurrentThreadCpuTime() - samplerCpu0;
            double scrapes = scrapeCount(registry) - scrapes0;
            double errors = errorCount(registry) - errors0;
            long serverCpu = serverCpuNanos(server) - serverCpu0;

            double cores = (cpu - samplerCpu) / (double) wall;
            System.out.printf("endpoints=%d interval=%dms measured=%ds (after %ds warm-up), JDK %s, %d CPUs%n",
                    endpoints, intervalMs, seconds, warmup, Runtime.version(), Runtime.getRuntime().availableProcessors());
            System.out.printf("scrapes/s=%.0f (ideal %.0f)  errors=%.0f%n", scrapes / (wall / 1e9),
                    endpoints * 1000.0 / intervalMs, errors);
            System.out.printf("scraper process CPU: %.3f cores (incl. idle JVM baseline %.3f cores; age sampler "
                    + "thread %.3f cores excluded)%n", cores, idleCores, samplerCpu / (double) wall);
            System.out.printf("scraping CPU net of idle baseline: %.3f cores = %.1f us CPU per scrape%n",
                    cores - idleCores, (cpu - samplerCpu - idleCores * wall) / 1e3 / Math.max(1, scrapes));
            System.out.printf("server process CPU (separate JVM, not included): %.3f cores%n",
                    serverCpu < 0 ? Double.NaN : serverCpu / (double) wall);
            System.out.printf("snapshot age ms: p50=%d p90=%d p99=%d p99.9=%d max=%d (samples=%d)%n",
                    age.getValueAtPercentile(50), age.getValueAtPercentile(90), age.getValueAtPercentile(99),
                    age.getValueAtPercentile(99.9), age.getMaxValue(), age.getTotalCount());
        } finally {
            server.getOutputStream().close();
            server.waitFor();
            String last;
            while ((last = serverOut.readLine()) != null) {
                System.out.println("server: " + last);
            }
        }
    }

    private static long serverCpuNanos(Process p) {
        return p.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    private static double scrapeCount(PrometheusRegistry registry) {
        for (MetricSnapshot s : registry.scrape()) {
            if (s instanceof HistogramSnapshot h && s.getMetadata().getName().equals(
                    "epp4j_model_server_scrape_duration_seconds")) {
                return h.getDataPoints().stream().mapToLong(HistogramSnapshot.HistogramDataPointSnapshot::getCount).sum();
            }
        }
        return 0;
    }

    private static double errorCount(PrometheusRegistry registry) {
        for (MetricSnapshot s : registry.scrape()) {
            if (s instanceof CounterSnapshot c && s.getMetadata().getName().equals("epp4j_model_server_scrape_errors")) {
                return c.getDataPoints().stream().mapToDouble(CounterSnapshot.CounterDataPointSnapshot::getValue).sum();
            }
        }
        return 0;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        return m;
    }
}
