package io.epp4j.bench.load;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.bench.cli.JitActivity;
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
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load generator's connections to one ext_proc server, kept from the warm-up to the measurement: a fresh
 * channel would start the measurement with a TCP and HTTP/2 handshake and cold flow-control windows (measured: the
 * first 100 ms of an open-loop run held a fifth of its requests over 1 ms). Each connection has its own event loop,
 * which sends its requests and reads their answers, as a gateway's worker thread does: an open-loop sender thread
 * of its own would hand every request over to the loop and compete with it (and with the server) for this
 * machine's two cores.
 */
public final class Connection implements AutoCloseable {

    /** Full-speed warm-up: long enough for C2 to compile gRPC, Netty and the EPP on 2 cores. */
    static final double DEFAULT_WARMUP_SECONDS = 10;
    /** The settling rounds after it run at the measured load, one second each, until the JIT is quiet ... */
    private static final double SETTLE_ROUND_SECONDS = 1;
    /** ... or for at most this long (and twice the warm-up time). */
    private static final double MAX_SETTLE_SECONDS = 20;
    /** Most decisions in flight in open-loop mode; one more counts as an error. */
    private static final int OPEN_LOOP_LIMIT = 10_000;

    /** One HTTP/2 connection and the event loop that drives it. */
    record Lane(EventLoopGroup group, EventLoop loop, ManagedChannel channel,
                ExternalProcessorGrpc.ExternalProcessorStub stub) {
    }

    private final LoadGenerator.Target target;
    private final List<Lane> lanes;

    private Connection(LoadGenerator.Target target, List<Lane> lanes) {
        this.target = target;
        this.lanes = lanes;
    }

    /** One connection to {@code t}. */
    public static Connection open(LoadGenerator.Target t) throws Exception {
        return open(t, 1);
    }

    /** {@code connections} connections to {@code t}, each with its own event loop. */
    public static Connection open(LoadGenerator.Target t, int connections) throws Exception {
        List<Lane> lanes = new ArrayList<>();
        boolean epoll = Epoll.isAvailable();
        for (int i = 0; i < connections; i++) {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("load-client", true),
                    epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
            NettyChannelBuilder b = NettyChannelBuilder.forAddress(t.host(), t.port()).directExecutor()
                    .eventLoopGroup(group).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .maxInboundMessageSize(Integer.MAX_VALUE).flowControlWindow(8 * 1024 * 1024);
            if (t.tls()) {
                b.sslContext(GrpcSslContexts.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE).build());
            } else {
                b.usePlaintext();
            }
            ManagedChannel channel = b.build();
            lanes.add(new Lane(group, group.next(), channel, ExternalProcessorGrpc.newStub(channel)));
        }
        return new Connection(t, List.copyOf(lanes));
    }

    /**
     * Warms the target and this JVM up, measuring nothing: first at full speed ({@code --concurrency} in flight)
     * for the warm-up time, then under {@code s}'s own load until this JVM's JIT compiler has gone quiet (for at
     * most twice the warm-up time, {@link #MAX_SETTLE_SECONDS} at most). At 2,000 req/s, methods run once per
     * decision reach C2's thresholds only after about 8 s, and C2 on 2 cores then took seconds more: measured, a
     * 10 s open-loop warm-up left about 100 C2 compilations a second running through the measured phase.
     */
    public LoadGenerator.WarmUp warmUp(LoadGenerator.Settings s) throws InterruptedException {
        if (s.warmupSeconds() <= 0) {
            return LoadGenerator.WarmUp.NONE;
        }
        long start = System.nanoTime();
        List<List<ProcessingRequest>> seqs = LoadGenerator.sequences(s);
        // Recorded and thrown away, so the warm-up runs the measured code path: a branch the JIT never saw taken
        // (recording a latency) would deoptimize the client's response path as the measurement begins.
        Histogram discarded = latencyHistogram();
        runPhase(seqs, s.fullSpeed(), s.warmupSeconds(), discarded, new AtomicLong(), new AtomicLong(), null);
        long settleEnd = System.nanoTime() + (long) (Math.min(MAX_SETTLE_SECONDS, 2 * s.warmupSeconds()) * 1e9);
        JitActivity.Window round;
        int rounds = 0;
        do {
            round = JitActivity.window();
            runPhase(seqs, s, SETTLE_ROUND_SECONDS, discarded, new AtomicLong(), new AtomicLong(), null);
            rounds++;
        } while (!round.quiet() && System.nanoTime() < settleEnd);
        return new LoadGenerator.WarmUp((System.nanoTime() - start) / 1e9, rounds, round.quiet());
    }

    /**
     * Measures under {@code s}'s load, after a warm-up, saying on {@code progress} when it starts (a profiler can
     * be attached then). CPU time is this JVM's, so it covers the server only when it runs in-process
     * ({@code embedded}, {@code noop}).
     */
    public LoadGenerator.Result measure(LoadGenerator.Settings s, LoadGenerator.WarmUp warmUp, PrintStream progress)
            throws InterruptedException {
        progress.printf(Locale.ROOT, "%s: %s; measuring %.0f s%n", target.label(), warmUp.describe(),
                s.durationSeconds());
        Histogram h = latencyHistogram();
        AtomicLong done = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long[] chunks = new long[1];
        long cpuBefore = processCpuNanos();
        double seconds = runPhase(LoadGenerator.sequences(s), s, s.durationSeconds(), h, done, errors, chunks);
        long cpuNanos = processCpuNanos() - cpuBefore;
        return new LoadGenerator.Result(target.label(), done.get(), errors.get(), seconds, h,
                done.get() == 0 || cpuBefore < 0 ? Double.NaN : cpuNanos / 1000.0 / done.get(), warmUp,
                chunks[0] / seconds);
    }

    /**
     * One phase: with {@code --open-streams}, opens them first (their decisions are not measured) and keeps their
     * responses streaming throughout; then the new decisions, closed loop or open loop, each connection sending
     * its share from its event loop. Returns the seconds the new decisions took; {@code chunksEchoed[0]} (when
     * given) gets the response chunks echoed meanwhile.
     */
    private double runPhase(List<List<ProcessingRequest>> seqs, LoadGenerator.Settings s, double seconds,
                            Histogram h, AtomicLong done, AtomicLong errors, long[] chunksEchoed)
            throws InterruptedException {
        if (seconds <= 0) {
            return 0;
        }
        OpenStreams open = s.openStreams() == 0 ? null
                : OpenStreams.open(lanes, s.openStreams(), s.chunksPerSecond(), s.profile(), seqs);
        try {
            long echoesBefore = open == null ? 0 : open.echoes();
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            int limit = s.max() ? s.concurrency() : OPEN_LOOP_LIMIT;
            DecisionStreams streams = new DecisionStreams(seqs, h, done, errors, new Semaphore(limit));
            if (s.max()) {
                for (long issued = 0; System.nanoTime() < end; issued++) {
                    streams.inFlight().acquire();
                    streams.decide(lanes.get((int) (issued % lanes.size())).stub(), issued, System.nanoTime());
                }
            } else {
                List<DecisionStreams.OpenLoop> senders = new ArrayList<>();
                for (int i = 0; i < lanes.size(); i++) {
                    Lane lane = lanes.get(i);
                    DecisionStreams.OpenLoop sender = new DecisionStreams.OpenLoop(streams, lane.stub(),
                            lane.loop(), start, end, 1e9 / s.rps(), i, lanes.size());
                    senders.add(sender);
                    lane.loop().execute(sender);
                }
                for (DecisionStreams.OpenLoop sender : senders) {
                    sender.sent.await();
                }
            }
            if (!streams.inFlight().tryAcquire(limit, 30, TimeUnit.SECONDS)) {
                errors.addAndGet(limit - streams.inFlight().availablePermits());
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (chunksEchoed != null && open != null) {
                chunksEchoed[0] = open.echoes() - echoesBefore;
            }
            return elapsed;
        } finally {
            if (open != null) {
                open.close();
                errors.addAndGet(open.errors());
            }
        }
    }

    /** The connections, each with its event loop (for other drivers of this package). */
    List<Lane> lanes() {
        return lanes;
    }

    @Override
    public void close() throws InterruptedException {
        for (Lane lane : lanes) {
            lane.channel().shutdownNow();
            lane.channel().awaitTermination(5, TimeUnit.SECONDS);
            lane.group().shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
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
}
