package io.epp4j.bench.load;

import com.sun.management.UnixOperatingSystemMXBean;
import com.sun.tools.attach.VirtualMachine;
import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.stack.ForkedEpp;
import io.epp4j.epp.EppOptions;
import io.epp4j.gatewaykit.Dialect;
import org.HdrHistogram.Histogram;

import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code soak}: mixed traffic ({@link SoakTraffic}) at a steady rate through an EPP in a JVM of its own, sampling
 * that JVM (heap after a full GC, live threads, open file descriptors, over JMX) and the EPP's in-flight count
 * ({@code /debug/endpoints} and the running-request gauge) every {@code --sample-every}. It fails (exit 1) when
 * any of them is not flat or the decision p99 drifts:
 * <ul>
 *   <li>heap after GC: the lowest of the last samples exceeds the highest of the first by more than
 *       {@code --max-heap-growth-mb};</li>
 *   <li>threads and file descriptors: the same test against {@code --max-thread-growth} and
 *       {@code --max-fd-growth};</li>
 *   <li>in flight: not zero once the traffic has stopped and drained;</li>
 *   <li>p99: the last window's exceeds the first's by more than {@code --max-p99-ratio} times (plus
 *       {@code --p99-slack-ms}, so a sub-millisecond p99 does not fail on noise).</li>
 * </ul>
 * "First" and "last" samples are the first and last fifth of them (at least one each).
 */
public final class Soak {

    /**
     * The settings of a run.
     *
     * @param durationSeconds measured traffic, after the warm-up
     * @param windowSeconds the p99 windows: the first and the last of this length are compared
     */
    public record Settings(double rps, double durationSeconds, double warmupSeconds, double sampleSeconds,
                           double windowSeconds, int endpoints, int connections, String eppHeap, long seed,
                           double maxHeapGrowthMb, int maxThreadGrowth, int maxFdGrowth, double maxP99Ratio,
                           double p99SlackMs) {
    }

    /** One sample of the EPP process. */
    public record Sample(double seconds, double heapAfterGcMb, int threads, long fds, long inFlight) {
    }

    /** What a run measured and whether it passed; {@code failures} says which checks failed and why. */
    public record Result(List<Sample> samples, double p99FirstMs, double p99LastMs, long firstWindowCount,
                         long lastWindowCount, long completed, long cancelled,
                         long upstreamErrors, long errors, long refused, String firstError, double seconds,
                         long inFlightAfter, List<String> failures) {
        public boolean passed() {
            return failures.isEmpty();
        }
    }

    private Soak() {
    }

    /** {@code soak [--duration 10m] [--rps 2000] ...}. */
    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("duration", "rps", "warmup", "sample-every", "window", "endpoints",
                "connections", "epp-heap", "seed", "out", "max-heap-growth-mb", "max-thread-growth", "max-fd-growth",
                "max-p99-ratio", "p99-slack-ms"), Set.of());
        Settings s = new Settings(f.decimal("rps", 2000), seconds(f, "duration", "10m"), seconds(f, "warmup", "30s"),
                seconds(f, "sample-every", "10s"), seconds(f, "window", "60s"), f.integer("endpoints", 16),
                f.integer("connections", 2), f.string("epp-heap", "512m"), f.longValue("seed", 42),
                f.decimal("max-heap-growth-mb", 16), f.integer("max-thread-growth", 4), f.integer("max-fd-growth", 16),
                f.decimal("max-p99-ratio", 1.5), f.decimal("p99-slack-ms", 1));
        if (s.rps() <= 0 || s.windowSeconds() * 2 > s.durationSeconds()) {
            throw new Flags.UsageException("--rps must be positive and --duration at least two --window");
        }
        Result r = soak(s, out);
        String report = report(s, r);
        out.print(report);
        if (f.has("out")) {
            Path p = Path.of(f.string("out", "soak.txt"));
            if (p.getParent() != null) {
                Files.createDirectories(p.getParent());
            }
            Files.writeString(p, report, StandardCharsets.UTF_8);
        }
        return r.passed() ? 0 : 1;
    }

    private static double seconds(Flags f, String name, String defaultValue) {
        try {
            return EppOptions.parseDuration(f.string(name, defaultValue)).toNanos() / 1e9;
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--" + name + " must be a duration such as 30s or 10m");
        }
    }

    /** Runs the soak against a forked EPP over {@code s.endpoints()} metrics stubs; progress goes to {@code out}. */
    public static Result soak(Settings s, PrintStream out) throws Exception {
        try (MetricsStubFleet fleet = new MetricsStubFleet(s.endpoints(), s.seed());
             ForkedEpp epp = ForkedEpp.start(List.of("-Xmx" + s.eppHeap(), "-Xms" + s.eppHeap()), fleet.addresses(),
                     false, null);
             Jvm jvm = Jvm.attach(epp.pid());
             Connection c = Connection.open(new LoadGenerator.Target("epp (forked)", "127.0.0.1", epp.grpcPort(),
                     false), s.connections())) {
            int windows = (int) Math.ceil(s.durationSeconds() / s.windowSeconds());
            SoakTraffic traffic = new SoakTraffic(Dialect.AGENTGATEWAY, s.seed(), s.windowSeconds(), windows);
            long warmStart = System.nanoTime();
            long start = warmStart + (long) (s.warmupSeconds() * 1e9);
            long end = start + (long) (s.durationSeconds() * 1e9);
            out.printf(Locale.ROOT, "soak: %.0f req/s for %.0f s after a %.0f s warm-up (the rate ramps up over"
                    + " its first half), EPP pid %d, -Xmx%s%n",
                    s.rps(), s.durationSeconds(), s.warmupSeconds(), epp.pid(), s.eppHeap());
            List<DecisionStreams.OpenLoop> senders = new ArrayList<>();
            List<Connection.Lane> lanes = c.lanes();
            for (int i = 0; i < lanes.size(); i++) {
                Connection.Lane lane = lanes.get(i);
                DecisionStreams.OpenLoop sender = new DecisionStreams.OpenLoop(traffic, lane.stub(), lane.loop(),
                        warmStart, end, 1e9 / s.rps(), s.warmupSeconds() * 1e9 / 2, i, lanes.size());
                senders.add(sender);
                lane.loop().execute(sender);
            }
            traffic.recordFrom(start);
            List<Sample> samples = new ArrayList<>();
            long sampleNanos = (long) (s.sampleSeconds() * 1e9);
            for (long next = start; next < end; next += sampleNanos) {
                sleepUntil(next);
                Sample sample = jvm.sample((System.nanoTime() - start) / 1e9, EppReadings.inFlight(epp.metricsPort()));
                samples.add(sample);
                out.printf(Locale.ROOT, "  %6.0f s  heap %7.1f MB  threads %4d  fds %5d  in flight %5d  done %d%n",
                        sample.seconds(), sample.heapAfterGcMb(), sample.threads(), sample.fds(), sample.inFlight(),
                        traffic.completed());
            }
            for (DecisionStreams.OpenLoop sender : senders) {
                sender.sent.await();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            traffic.stopRecording();
            if (!traffic.inFlight().tryAcquire(SoakTraffic.OPEN_LOOP_LIMIT, 30, TimeUnit.SECONDS)) {
                traffic.errors().addAndGet(SoakTraffic.OPEN_LOOP_LIMIT - traffic.inFlight().availablePermits());
            }
            long inFlightAfter = EppReadings.inFlight(epp.metricsPort());
            for (long deadline = System.nanoTime() + 10_000_000_000L; inFlightAfter != 0
                    && System.nanoTime() < deadline; inFlightAfter = EppReadings.inFlight(epp.metricsPort())) {
                Thread.sleep(100); // the EPP releases a slot when it processes the stream's end
            }
            samples.add(jvm.sample((System.nanoTime() - start) / 1e9, inFlightAfter));
            List<Histogram> w = traffic.windows();
            double first = w.get(0).getValueAtPercentile(99) / 1000.0;
            double last = w.get(w.size() - 1).getValueAtPercentile(99) / 1000.0;
            List<String> failures = checks(s, samples, first, last, inFlightAfter, traffic.errors().get(),
                    traffic.refusedCount());
            return new Result(samples, first, last, w.get(0).getTotalCount(), w.get(w.size() - 1).getTotalCount(),
                    traffic.completed(), traffic.cancelled(),
                    traffic.upstreamErrors(), traffic.errors().get(), traffic.refusedCount(), traffic.firstError(),
                    seconds, inFlightAfter,
                    failures);
        }
    }

    /** The flatness and drift checks; each failure says what grew and by how much. */
    static List<String> checks(Settings s, List<Sample> samples, double p99First, double p99Last, long inFlightAfter,
                               long errors, long refused) {
        List<String> failures = new ArrayList<>();
        int k = Math.max(1, samples.size() / 5);
        List<Sample> head = samples.subList(0, k);
        List<Sample> tail = samples.subList(samples.size() - k, samples.size());
        double heapGrowth = tail.stream().mapToDouble(Sample::heapAfterGcMb).min().orElseThrow()
                - head.stream().mapToDouble(Sample::heapAfterGcMb).max().orElseThrow();
        if (heapGrowth > s.maxHeapGrowthMb()) {
            failures.add(String.format(Locale.ROOT, "heap after GC grew %.1f MB (bound %.1f MB)", heapGrowth,
                    s.maxHeapGrowthMb()));
        }
        int threadGrowth = tail.stream().mapToInt(Sample::threads).min().orElseThrow()
                - head.stream().mapToInt(Sample::threads).max().orElseThrow();
        if (threadGrowth > s.maxThreadGrowth()) {
            failures.add("threads grew by " + threadGrowth + " (bound " + s.maxThreadGrowth() + ")");
        }
        long fdGrowth = tail.stream().mapToLong(Sample::fds).min().orElseThrow()
                - head.stream().mapToLong(Sample::fds).max().orElseThrow();
        if (fdGrowth > s.maxFdGrowth()) {
            failures.add("file descriptors grew by " + fdGrowth + " (bound " + s.maxFdGrowth() + ")");
        }
        if (inFlightAfter != 0) {
            failures.add(inFlightAfter + " requests still in flight in the EPP after the traffic stopped");
        }
        if (p99Last > p99First * s.maxP99Ratio() + s.p99SlackMs()) {
            failures.add(String.format(Locale.ROOT, "p99 drifted from %.2f ms to %.2f ms (bound %.1fx + %.1f ms)",
                    p99First, p99Last, s.maxP99Ratio(), s.p99SlackMs()));
        }
        if (errors > 0) {
            failures.add(errors + " unexpected errors (streams the EPP failed or answered with an error)");
        }
        if (refused > 0) {
            failures.add("the load generator fell behind: " + refused + " exchanges not sent while "
                    + SoakTraffic.OPEN_LOOP_LIMIT + " were open (the harness, not a measurement of the EPP: rerun with"
                    + " a longer --warmup, a lower --rps or on more cores)");
        }
        return failures;
    }

    static String report(Settings s, Result r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n%-9s %12s %8s %6s %10s%n", "t (s)", "heap GC MB", "threads", "fds",
                "in flight"));
        for (Sample x : r.samples()) {
            b.append(String.format(Locale.ROOT, "%-9.0f %12.1f %8d %6d %10d%n", x.seconds(), x.heapAfterGcMb(),
                    x.threads(), x.fds(), x.inFlight()));
        }
        long total = r.completed() + r.cancelled() + r.upstreamErrors() + r.errors();
        b.append(String.format(Locale.ROOT, "%nexchanges %d in %.0f s (%.0f/s): completed %d, cancelled %d, "
                        + "upstream 500 %d, errors %d; not sent (generator behind) %d%n", total, r.seconds(),
                total / r.seconds(), r.completed(), r.cancelled(), r.upstreamErrors(), r.errors(), r.refused()));
        if (r.firstError() != null) {
            b.append("first error: ").append(r.firstError()).append('\n');
        }
        b.append(String.format(Locale.ROOT, "decision p99: first %.0f s %.2f ms, last %.0f s %.2f ms "
                        + "(%d and %d decisions)%n", s.windowSeconds(), r.p99FirstMs(), s.windowSeconds(),
                r.p99LastMs(), r.firstWindowCount(), r.lastWindowCount()));
        b.append(String.format(Locale.ROOT, "bounds: heap +%.0f MB, threads +%d, fds +%d, in flight 0 after, "
                        + "p99 last <= %.1f x first + %.1f ms, no errors%n", s.maxHeapGrowthMb(), s.maxThreadGrowth(),
                s.maxFdGrowth(), s.maxP99Ratio(), s.p99SlackMs()));
        b.append(r.passed() ? "PASS\n" : "FAIL: " + String.join("; ", r.failures()) + "\n");
        return b.toString();
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long wait = nanos - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    /** The EPP's JVM over JMX (the attach API starts its local management agent). */
    private static final class Jvm implements AutoCloseable {
        private final JMXConnector connector;
        private final MemoryMXBean memory;
        private final ThreadMXBean threads;
        private final UnixOperatingSystemMXBean os;

        private Jvm(JMXConnector connector) throws java.io.IOException {
            this.connector = connector;
            MBeanServerConnection m = connector.getMBeanServerConnection();
            memory = ManagementFactory.newPlatformMXBeanProxy(m, ManagementFactory.MEMORY_MXBEAN_NAME,
                    MemoryMXBean.class);
            threads = ManagementFactory.newPlatformMXBeanProxy(m, ManagementFactory.THREAD_MXBEAN_NAME,
                    ThreadMXBean.class);
            os = ManagementFactory.newPlatformMXBeanProxy(m, ManagementFactory.OPERATING_SYSTEM_MXBEAN_NAME,
                    UnixOperatingSystemMXBean.class);
        }

        static Jvm attach(long pid) throws Exception {
            VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
            String address;
            try {
                address = vm.startLocalManagementAgent();
            } finally {
                vm.detach();
            }
            return new Jvm(JMXConnectorFactory.connect(new JMXServiceURL(address)));
        }

        /** A full GC, then the heap in use, live threads and open file descriptors. */
        Sample sample(double seconds, long inFlight) {
            memory.gc();
            double heap = memory.getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
            long fds = os.getOpenFileDescriptorCount();
            return new Sample(seconds, heap, threads.getThreadCount(), fds, inFlight);
        }

        @Override
        public void close() throws java.io.IOException {
            connector.close();
        }
    }
}
