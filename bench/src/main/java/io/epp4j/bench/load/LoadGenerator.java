package io.epp4j.bench.load;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.bench.cli.JitActivity;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.extproc.NoopExtProcServer;
import io.epp4j.bench.stack.EmbeddedEpp;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.Messages;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.StreamObserver;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decision-speed load generator: opens one ext_proc stream per simulated request over loopback TCP gRPC and
 * sends agentgateway's request-side sequence (headers with protocol_config, body frames without waiting).
 * A decision is complete when the headers answer and the echo of the last body chunk have arrived; the
 * stream is then half-closed (the response side is not exercised).
 *
 * <p>{@code --rps R} is open-loop (latency counted from each request's intended start, so queueing in the
 * target is not hidden), sent from the connection's own event loop, which also reads the answers, as a gateway's
 * worker thread does; {@code --max} keeps {@code --concurrency} decisions in flight.
 */
public final class LoadGenerator {

    private static final int FRAME_BYTES = 16 * 1024;
    /** Full-speed warm-up: long enough for C2 to compile gRPC, Netty and the EPP on 2 cores. */
    static final double DEFAULT_WARMUP_SECONDS = 10;
    /** The settling rounds after it run at the measured load, one second each, until the JIT is quiet ... */
    private static final double SETTLE_ROUND_SECONDS = 1;
    /** ... or for at most this long (and twice the warm-up time). */
    private static final double MAX_SETTLE_SECONDS = 20;

    /** Settings of one run. */
    public record Settings(double rps, boolean max, int concurrency, double durationSeconds, double warmupSeconds,
                           int bodyBytes, Dialect profile, long seed) {
    }

    /** What one run measured. */
    public record Result(String target, long decisions, long errors, double seconds, Histogram latencyMicros,
                         double cpuMicrosPerDecision, WarmUp warmUp) {
        public double decisionsPerSecond() {
            return decisions / seconds;
        }

        public double p(double percentile) {
            return latencyMicros.getTotalCount() == 0 ? Double.NaN : latencyMicros.getValueAtPercentile(percentile);
        }

        Map<String, Object> json(Settings s, int endpoints) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("target", target);
            m.put("mode", s.max() ? "max" : "rps");
            m.put("offered_rps", s.max() ? null : s.rps());
            m.put("concurrency", s.max() ? s.concurrency() : null);
            m.put("body_bytes", (long) s.bodyBytes());
            m.put("endpoints", (long) endpoints);
            m.put("profile", s.profile().name().toLowerCase(Locale.ROOT));
            m.put("duration_s", seconds);
            m.put("decisions", decisions);
            m.put("decisions_per_s", decisionsPerSecond());
            m.put("p50_us", p(50));
            m.put("p90_us", p(90));
            m.put("p99_us", p(99));
            m.put("p999_us", p(99.9));
            m.put("max_us", (double) latencyMicros.getMaxValue());
            m.put("errors", errors);
            m.put("cpu_us_per_decision", cpuMicrosPerDecision);
            m.put("warmup_s", warmUp.seconds());
            m.put("jit_quiet_before_measuring", warmUp.jitQuiet());
            return m;
        }
    }

    private LoadGenerator() {
    }

    /** {@code load --target HOST:PORT|embedded|noop ...}. */
    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("target", "rps", "duration", "warmup", "body-bytes", "endpoints", "out",
                "concurrency", "profile", "seed", "epp-config", "scrape-interval"), Set.of("tls", "max", "compare-noop"));
        String target = f.required("target");
        if (f.has("rps") == f.bool("max")) {
            throw new Flags.UsageException("give exactly one of --rps R and --max");
        }
        Dialect profile;
        try {
            profile = Dialect.parse(f.string("profile", "agentgateway"));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        double duration = f.decimal("duration", 10);
        Settings s = new Settings(f.decimal("rps", 0), f.bool("max"), f.integer("concurrency", 32), duration,
                f.decimal("warmup", DEFAULT_WARMUP_SECONDS), f.integer("body-bytes", 1024), profile,
                f.longValue("seed", 42));
        int endpoints = f.integer("endpoints", 64);
        boolean tls = f.bool("tls");
        boolean withNoop = target.equals("noop") || f.bool("compare-noop");
        String scrapeInterval = f.positiveDuration("scrape-interval", "50ms");
        if (!List.of("embedded", "noop").contains(target) && target.lastIndexOf(':') <= 0) {
            throw new Flags.UsageException("--target wants HOST:PORT, embedded or noop");
        }
        List<Result> results = new ArrayList<>();
        // The no-op baseline is warmed up first and measured last, once the EPP (and its scraping) has stopped:
        // both are measured with the JIT done and nothing else running in this JVM.
        try (NoopExtProcServer noop = withNoop ? NoopExtProcServer.start(0, "127.0.0.1:8000") : null;
             Connection baseline = noop == null ? null
                     : Connection.open(new Target("no-op ext_proc", "127.0.0.1", noop.port(), false))) {
            WarmUp baselineWarmUp = baseline == null ? null : baseline.warmUp(s);
            if (target.equals("embedded")) {
                try (MetricsStubFleet fleet = new MetricsStubFleet(endpoints, s.seed());
                     EmbeddedEpp epp = EmbeddedEpp.start(fleet.addresses(), tls, f.string("epp-config", null),
                             "--refresh-metrics-interval", scrapeInterval);
                     Connection c = Connection.open(new Target("epp (embedded, " + endpoints + " endpoints)",
                             "127.0.0.1", epp.grpcPort(), tls))) {
                    results.add(c.measure(s, c.warmUp(s), out));
                }
            } else if (!target.equals("noop")) {
                int colon = target.lastIndexOf(':');
                try (Connection c = Connection.open(new Target(target, target.substring(0, colon),
                        Integer.parseInt(target.substring(colon + 1)), tls))) {
                    results.add(c.measure(s, c.warmUp(s), out));
                }
            }
            if (baseline != null) {
                results.add(baseline.measure(s, baselineWarmUp, out));
            }
        }
        printTable(out, s, endpoints, results);
        if (f.has("out")) {
            StringBuilder json = new StringBuilder();
            Result main = results.get(0);
            Map<String, Object> m = main.json(s, endpoints);
            if (results.size() > 1) {
                Result base = results.get(1);
                m.put("baseline", new Json.RawJson(Json.object(base.json(s, endpoints)).trim().replace("\n", "\n  ")));
                CostRatios ratios = CostRatios.of(main, base);
                m.put("cost_ratio_p50", ratios.p50());
                m.put("cost_ratio_cpu", ratios.cpuPerDecision());
                m.put("throughput_ratio_baseline_over_target", ratios.baselineThroughput());
            }
            json.append(Json.object(m));
            Path p = Path.of(f.string("out", "load.json"));
            if (p.getParent() != null) {
                Files.createDirectories(p.getParent());
            }
            Files.writeString(p, json, StandardCharsets.UTF_8);
        }
        return 0;
    }

    static void printTable(PrintStream out, Settings s, int endpoints, List<Result> results) {
        out.printf(Locale.ROOT, "%s, body %d B, %d endpoints, profile %s%n",
                s.max() ? "max throughput, concurrency " + s.concurrency() : "open loop at " + s.rps() + " req/s",
                s.bodyBytes(), endpoints, s.profile().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "%-34s %12s %9s %9s %9s %9s %9s %7s %14s%n", "target", "decisions/s", "p50 us", "p90 us",
                "p99 us", "p99.9 us", "max us", "errors", "cpu us/decision");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-34s %12.0f %9.0f %9.0f %9.0f %9.0f %9d %7d %14.1f%n", r.target(),
                    r.decisionsPerSecond(), r.p(50), r.p(90), r.p(99), r.p(99.9), r.latencyMicros().getMaxValue(),
                    r.errors(), r.cpuMicrosPerDecision());
        }
        if (results.size() > 1) {
            CostRatios ratios = CostRatios.of(results.get(0), results.get(1));
            out.printf(Locale.ROOT, "cost ratio target/no-op: p50 %.2f, p99 %.2f, cpu per decision %.2f, "
                            + "throughput (no-op/target) %.2f%n",
                    ratios.p50(), ratios.p99(), ratios.cpuPerDecision(), ratios.baselineThroughput());
        }
    }

    /** The measured target against the no-op baseline: its cost per decision, and the baseline's throughput. */
    record CostRatios(double p50, double p99, double cpuPerDecision, double baselineThroughput) {
        static CostRatios of(Result target, Result baseline) {
            return new CostRatios(target.p(50) / baseline.p(50), target.p(99) / baseline.p(99),
                    target.cpuMicrosPerDecision() / baseline.cpuMicrosPerDecision(),
                    baseline.decisionsPerSecond() / target.decisionsPerSecond());
        }
    }

    /**
     * How a warm-up went: its length, its settling rounds at the measured load, and whether the JIT had gone quiet
     * by the last one (if not, it stopped at the time limit and the measurement may include compilation).
     */
    public record WarmUp(double seconds, int settleRounds, boolean jitQuiet) {
        static final WarmUp NONE = new WarmUp(0, 0, false);

        String describe() {
            if (this.equals(NONE)) {
                return "not warmed up (--warmup 0)";
            }
            return String.format(Locale.ROOT, "warmed up %.1f s (%d settling round%s, %s)", seconds, settleRounds,
                    settleRounds == 1 ? "" : "s", jitQuiet ? "JIT quiet" : "JIT still compiling at the time limit");
        }
    }

    /** An ext_proc server to measure. */
    public record Target(String label, String host, int port, boolean tls) {
    }

    /**
     * One channel to an ext_proc server, kept from the warm-up to the measurement: a fresh channel would start the
     * measurement with a TCP and HTTP/2 handshake and cold flow-control windows (measured: the first 100 ms of an
     * open-loop run held a fifth of its requests over 1 ms).
     */
    public static final class Connection implements AutoCloseable {
        private final Target target;
        private final EventLoopGroup loop;
        private final ManagedChannel channel;
        private final ExternalProcessorGrpc.ExternalProcessorStub stub;

        private Connection(Target target, EventLoopGroup loop, ManagedChannel channel) {
            this.target = target;
            this.loop = loop;
            this.channel = channel;
            this.stub = ExternalProcessorGrpc.newStub(channel);
        }

        public static Connection open(Target t) throws Exception {
            // One event loop sends the requests and reads the answers, as a gateway's worker thread does: an
            // open-loop sender thread of its own would hand every request over to the loop and compete with it
            // (and with the server) for this machine's two cores.
            boolean epoll = Epoll.isAvailable();
            EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("load-client", true),
                    epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
            NettyChannelBuilder b = NettyChannelBuilder.forAddress(t.host(), t.port()).directExecutor()
                    .eventLoopGroup(loop).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .maxInboundMessageSize(Integer.MAX_VALUE).flowControlWindow(8 * 1024 * 1024);
            if (t.tls()) {
                b.sslContext(GrpcSslContexts.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build());
            } else {
                b.usePlaintext();
            }
            return new Connection(t, loop, b.build());
        }

        /**
         * Warms the target and this JVM up, measuring nothing: first at full speed ({@code --concurrency} in
         * flight) for the warm-up time, then under {@code s}'s own load until this JVM's JIT compiler has gone
         * quiet (for at most twice the warm-up time, {@link #MAX_SETTLE_SECONDS} at most). At 2,000 req/s,
         * methods run once per decision reach C2's thresholds only after about 8 s, and C2 on 2 cores then took
         * seconds more: measured, a 10 s open-loop warm-up left about 100 C2 compilations a second running
         * through the measured phase.
         */
        public WarmUp warmUp(Settings s) throws InterruptedException {
            if (s.warmupSeconds() <= 0) {
                return WarmUp.NONE;
            }
            long start = System.nanoTime();
            List<List<ProcessingRequest>> seqs = sequences(s);
            // Recorded and thrown away, so the warm-up runs the measured code path: a branch the JIT never saw
            // taken (recording a latency) would deoptimize the client's response path as the measurement begins.
            Histogram discarded = latencyHistogram();
            Settings fullSpeed = new Settings(0, true, s.concurrency(), s.durationSeconds(), s.warmupSeconds(),
                    s.bodyBytes(), s.profile(), s.seed());
            runPhase(stub, loop.next(), seqs, fullSpeed, s.warmupSeconds(), discarded, new AtomicLong(),
                    new AtomicLong());
            long settleEnd = System.nanoTime() + (long) (Math.min(MAX_SETTLE_SECONDS, 2 * s.warmupSeconds()) * 1e9);
            JitActivity.Window round;
            int rounds = 0;
            do {
                round = JitActivity.window();
                runPhase(stub, loop.next(), seqs, s, SETTLE_ROUND_SECONDS, discarded, new AtomicLong(),
                        new AtomicLong());
                rounds++;
            } while (!round.quiet() && System.nanoTime() < settleEnd);
            return new WarmUp((System.nanoTime() - start) / 1e9, rounds, round.quiet());
        }

        /**
         * Measures under {@code s}'s load, after a warm-up, saying on {@code progress} when it starts (a profiler
         * can be attached then). CPU time is this JVM's, so it covers the server only when it runs in-process
         * ({@code embedded}, {@code noop}).
         */
        public Result measure(Settings s, WarmUp warmUp, PrintStream progress) throws InterruptedException {
            progress.printf(Locale.ROOT, "%s: %s; measuring %.0f s%n", target.label(), warmUp.describe(),
                    s.durationSeconds());
            Histogram h = latencyHistogram();
            AtomicLong done = new AtomicLong();
            AtomicLong errors = new AtomicLong();
            long cpuBefore = processCpuNanos();
            double seconds = runPhase(stub, loop.next(), sequences(s), s, s.durationSeconds(), h, done, errors);
            long cpuNanos = processCpuNanos() - cpuBefore;
            return new Result(target.label(), done.get(), errors.get(), seconds, h,
                    done.get() == 0 || cpuBefore < 0 ? Double.NaN : cpuNanos / 1000.0 / done.get(), warmUp);
        }

        @Override
        public void close() throws InterruptedException {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }

    /** Latencies in microseconds up to an hour, three significant digits; safe to record from any thread. */
    private static Histogram latencyHistogram() {
        return new ConcurrentHistogram(3_600_000_000L, 3);
    }

    /** CPU time used by this JVM so far, or -1 where the platform does not tell. */
    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** 64 distinct request message sequences (different prompts), reused round-robin. */
    static List<List<ProcessingRequest>> sequences(Settings s) {
        List<List<ProcessingRequest>> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(s.seed());
        String[] words = {"alpha", "beta", "gamma", "delta", "route", "cache", "token", "model", "pod", "gate"};
        for (int i = 0; i < 64; i++) {
            String head = "{\"model\":\"Qwen/Qwen3-8B\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"";
            String tail = "\"}]}";
            StringBuilder content = new StringBuilder();
            while (head.length() + content.length() + tail.length() < s.bodyBytes()) {
                content.append(words[r.nextInt(words.length)]).append(' ');
            }
            content.setLength(Math.max(0, s.bodyBytes() - head.length() - tail.length()));
            byte[] body = (head + content + tail).getBytes(StandardCharsets.UTF_8);
            Map<String, String> headers = Messages.post("/v1/chat/completions", body.length,
                    "user-agent", "epp4j-load/1", "accept", "*/*", "x-request-id", "load-" + i,
                    "x-gateway-base-model-name", "Qwen/Qwen3-8B");
            out.add(List.copyOf(Messages.request(s.profile(), headers, body, FRAME_BYTES)));
        }
        return out;
    }

    private static double runPhase(ExternalProcessorGrpc.ExternalProcessorStub stub, EventLoop loop,
                                   List<List<ProcessingRequest>> seqs, Settings s, double seconds, Histogram h,
                                   AtomicLong done, AtomicLong errors) throws InterruptedException {
        if (seconds <= 0) {
            return 0;
        }
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        int limit = s.max() ? s.concurrency() : 10_000;
        Phase phase = new Phase(stub, seqs, h, done, errors, new Semaphore(limit));
        if (s.max()) {
            for (long issued = 0; System.nanoTime() < end; issued++) {
                phase.inFlight().acquire();
                phase.decide(issued, System.nanoTime());
            }
        } else {
            OpenLoop sender = new OpenLoop(phase, loop, start, end, 1e9 / s.rps());
            loop.execute(sender);
            sender.sent.await();
        }
        if (!phase.inFlight().tryAcquire(limit, 30, TimeUnit.SECONDS)) {
            errors.addAndGet(limit - phase.inFlight().availablePermits());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * What the streams of one phase share: where to send, the request sequences they rotate through, and the
     * tallies they complete into ({@code inFlight} holds one permit per stream still open).
     */
    private record Phase(ExternalProcessorGrpc.ExternalProcessorStub stub, List<List<ProcessingRequest>> seqs,
                         Histogram latencies, AtomicLong done, AtomicLong errors, Semaphore inFlight) {

        /** Opens the {@code n}th stream (its permit already taken), timed from {@code startNanos}. */
        void decide(long n, long startNanos) {
            Decision d = new Decision(this, startNanos);
            // Sends and the completing half-close run under the decision's lock: a call observer is not thread-safe.
            synchronized (d) {
                StreamObserver<ProcessingRequest> out = stub.process(d);
                d.out = out;
                for (ProcessingRequest r : seqs.get((int) (n % seqs.size()))) {
                    out.onNext(r);
                }
            }
        }
    }

    /**
     * Sends open-loop requests from the connection's event loop, each at its intended time (start + i / rate): runs
     * once per due request or batch of overdue ones, then schedules itself for the next. A request that finds
     * 10,000 in flight counts as an error; latency counts from the intended time, so a late send is not hidden.
     */
    private static final class OpenLoop implements Runnable {
        final Phase phase;
        final EventLoop loop;
        final long start;
        final long end;
        final double intervalNanos;
        final CountDownLatch sent = new CountDownLatch(1);
        long next;

        OpenLoop(Phase phase, EventLoop loop, long start, long end, double intervalNanos) {
            this.phase = phase;
            this.loop = loop;
            this.start = start;
            this.end = end;
            this.intervalNanos = intervalNanos;
        }

        @Override
        public void run() {
            while (true) {
                long intended = start + (long) (next * intervalNanos);
                if (intended >= end) {
                    sent.countDown();
                    return;
                }
                long wait = intended - System.nanoTime();
                if (wait > 0) {
                    loop.schedule(this, wait, TimeUnit.NANOSECONDS);
                    return;
                }
                if (phase.inFlight().tryAcquire()) {
                    phase.decide(next, intended);
                } else {
                    phase.errors().incrementAndGet();
                }
                next++;
            }
        }
    }

    /** One stream: complete when the headers answer and the final body echo have arrived. */
    private static final class Decision implements StreamObserver<ProcessingResponse> {
        final Phase phase;
        final long start;
        volatile StreamObserver<ProcessingRequest> out;
        boolean headers;
        boolean finished;

        Decision(Phase phase, long start) {
            this.phase = phase;
            this.start = start;
        }

        @Override
        public synchronized void onNext(ProcessingResponse r) {
            if (finished) {
                return;
            }
            if (r.hasRequestHeaders()) {
                headers = true;
            } else if (r.hasRequestBody() && r.getRequestBody().getResponse().getBodyMutation().getStreamedResponse()
                    .getEndOfStream()) {
                if (headers) {
                    complete(true);
                } else {
                    complete(false);
                }
            } else if (r.hasImmediateResponse()) {
                complete(false);
            }
        }

        private void complete(boolean ok) {
            finished = true;
            if (ok) {
                phase.latencies().recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
                phase.done().incrementAndGet();
            } else {
                phase.errors().incrementAndGet();
            }
            StreamObserver<ProcessingRequest> o = out;
            if (o != null) {
                o.onCompleted();
            }
            phase.inFlight().release();
        }

        @Override
        public synchronized void onError(Throwable t) {
            if (!finished) {
                finished = true;
                phase.errors().incrementAndGet();
                phase.inFlight().release();
            }
        }

        @Override
        public synchronized void onCompleted() {
            if (!finished) {
                complete(false);
            }
        }
    }
}
