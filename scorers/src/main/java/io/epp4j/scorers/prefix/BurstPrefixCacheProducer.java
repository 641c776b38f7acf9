package io.epp4j.scorers.prefix;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code burst-prefix-cache-producer} (llm-d): co-locates bursts of requests that share a prompt, such as the
 * {@code n} samples of one RL rollout step, which arrive together while every cache is still cold, so a cache-state
 * scorer sees nothing and load balancing would prefill the shared prompt on every replica.
 *
 * <p>Requests arriving within {@code windowDurationMs} (100, at most 10000) are held and placed jointly when the
 * window closes ({@link BurstAssignment}): identical prompts go to one replica ({@code maxPerReplica}, default -1 =
 * no cap, spreads a large group), lone requests sharing at least {@code minColocateBlocks} (0 = off) leading blocks
 * with another join them, and the window is balanced by {@code balanceBy} ({@code requests} or {@code tokens}).
 * Each request then carries a full prefix match on its replica and none elsewhere, which {@code prefix-cache-scorer}
 * reads when its {@code prefixMatchInfoProducerName} names this producer. A request that overlaps no other gets no
 * affinity, leaving it to the other scorers.
 *
 * <p>Prompts are hashed into blocks of {@code blockSizeTokens} (64) × 4 bytes, at most
 * {@code maxPrefixTokensToMatch}/{@code blockSizeTokens} blocks (0 = 2048 blocks). A window takes at most
 * {@code maxBatchSize} (1000; -1 = no cap) requests; later ones get no affinity. Every request waits up to the
 * window, so this plugin blocks its scheduling thread ({@link #blocksOnIo()}).
 */
public final class BurstPrefixCacheProducer extends NamedPlugin implements DataProducer, AutoCloseable {

    public static final String TYPE = "burst-prefix-cache-producer";
    static final int MAX_WINDOW_MS = 10_000;
    static final int DEFAULT_MAX_BLOCKS = 2048;
    /** How long past the window a request waits for its window to be placed before going on without affinity. */
    static final long SEAL_GRACE_MS = 300;

    /** Runs a task after a delay (the window timer; tests drive it by hand). */
    @FunctionalInterface
    public interface Timer {
        void after(long millis, Runnable task);
    }

    private final int windowMs;
    private final int maxPerReplica;
    private final int blockSizeTokens;
    private final int maxBlocks;
    private final int minColocateBlocks;
    private final int maxBatchSize;
    private final boolean byTokens;
    private final Timer timer;
    private ScheduledExecutorService ownTimer; // guarded by lock; started with the first window
    private final WarnOnce batchFull = new WarnOnce(BurstPrefixCacheProducer.class);
    private final Object lock = new Object();
    private Window open; // guarded by lock

    /** One window: the requests that joined it, released together when it is sealed. */
    private static final class Window {
        final List<BurstAssignment.Entry> entries = new ArrayList<>();
        final CountDownLatch sealed = new CountDownLatch(1);
    }

    /** With its own timer thread, stopped by {@link #close()}. */
    public BurstPrefixCacheProducer(String name, PluginParameters parameters) {
        this(name, parameters, null);
    }

    /** With {@code timer} sealing the windows (null: a daemon thread of its own). */
    public BurstPrefixCacheProducer(String name, PluginParameters parameters, Timer timer) {
        super(TYPE, name);
        this.windowMs = parameters.getInt("windowDurationMs", 100);
        this.maxPerReplica = parameters.getInt("maxPerReplica", BurstAssignment.UNLIMITED);
        this.blockSizeTokens = parameters.getInt("blockSizeTokens", 64);
        int maxTokens = parameters.getInt("maxPrefixTokensToMatch", 0);
        this.minColocateBlocks = parameters.getInt("minColocateBlocks", 0);
        this.maxBatchSize = parameters.getInt("maxBatchSize", 1000);
        String balanceBy = parameters.getString("balanceBy", "requests");
        if (balanceBy.isEmpty()) {
            balanceBy = "requests";
        }
        require(windowMs > 0 && windowMs <= MAX_WINDOW_MS, "windowDurationMs must be in 1.." + MAX_WINDOW_MS
                + ", got " + windowMs);
        require(maxPerReplica == BurstAssignment.UNLIMITED || maxPerReplica >= 1,
                "maxPerReplica must be -1 (no cap) or >= 1, got " + maxPerReplica);
        require(blockSizeTokens > 0, "blockSizeTokens must be > 0, got " + blockSizeTokens);
        require(maxTokens == 0 || maxTokens >= blockSizeTokens, "maxPrefixTokensToMatch must be 0 or >="
                + " blockSizeTokens (" + blockSizeTokens + "), got " + maxTokens);
        require(minColocateBlocks >= 0, "minColocateBlocks must be >= 0, got " + minColocateBlocks);
        require(maxBatchSize == -1 || maxBatchSize >= 1, "maxBatchSize must be -1 (no cap) or >= 1, got "
                + maxBatchSize);
        require(balanceBy.equals("requests") || balanceBy.equals("tokens"),
                "balanceBy must be requests or tokens, got '" + balanceBy + "'");
        this.byTokens = balanceBy.equals("tokens");
        this.maxBlocks = maxTokens > 0 ? maxTokens / blockSizeTokens : DEFAULT_MAX_BLOCKS;
        this.timer = timer != null ? timer : this::schedule;
    }

    /** The default timer: one daemon thread, started when the first window opens (called under lock). */
    private void schedule(long millis, Runnable task) {
        if (ownTimer == null) {
            ownTimer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "epp4j-burst-window-" + name());
                t.setDaemon(true);
                return t;
            });
        }
        ownTimer.schedule(task, millis, TimeUnit.MILLISECONDS);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("parameter " + message);
        }
    }

    /** Waits for the window: scheduling threads must be allowed to block. */
    @Override
    public boolean blocksOnIo() {
        return true;
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        long[] hashes = ApproxPrefixCacheProducer.hashBlocks(request, blockSizeTokens * ApproxPrefixCacheProducer
                .CHARS_PER_TOKEN, maxBlocks);
        BurstAssignment.Entry entry = new BurstAssignment.Entry(hashes, endpoints);
        Window window;
        synchronized (lock) {
            if (open == null) {
                Window w = new Window();
                open = w;
                timer.after(windowMs, () -> seal(w));
            }
            window = open;
            if (maxBatchSize != -1 && window.entries.size() >= maxBatchSize) {
                batchFull.warn("{}: a window reached maxBatchSize {}; requests beyond it get no burst affinity",
                        name(), maxBatchSize);
                return;
            }
            window.entries.add(entry);
        }
        try {
            if (!window.sealed.await(windowMs + SEAL_GRACE_MS, TimeUnit.MILLISECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        String assigned = entry.assigned;
        int total = hashes.length;
        state.put(PrefixMatchInfo.keyFor(name()), new PrefixMatchInfo() {
            @Override
            public int totalBlocks() {
                return total;
            }

            @Override
            public double matchedBlocks(Endpoint endpoint) {
                return assigned != null && assigned.equals(endpoint.info().name()) ? total : 0;
            }
        });
    }

    private void seal(Window w) {
        List<BurstAssignment.Entry> entries;
        synchronized (lock) {
            if (open == w) {
                open = null;
            }
            entries = List.copyOf(w.entries);
        }
        try {
            BurstAssignment.assign(entries, maxPerReplica, minColocateBlocks, byTokens);
        } finally {
            w.sealed.countDown();
        }
    }

    /** Requests waiting in the open window (for tests). */
    int waiting() {
        synchronized (lock) {
            return open == null ? 0 : open.entries.size();
        }
    }

    /** Stops the timer thread; a window still open is sealed first, so no request waits on it. */
    @Override
    public void close() {
        Window pending;
        synchronized (lock) {
            pending = open;
            if (ownTimer != null) {
                ownTimer.shutdownNow();
                ownTimer = null;
            }
        }
        if (pending != null) {
            seal(pending);
        }
    }
}
