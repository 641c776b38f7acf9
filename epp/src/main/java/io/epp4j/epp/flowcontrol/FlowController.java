package io.epp4j.epp.flowcontrol;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.config.FlowControlConfig;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.FairnessPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * GAIE's flow-control layer: requests wait in priority bands (highest first), each band holding one FIFO per flow
 * (fairness id), and leave for scheduling only while the saturation detector says the pool has room. A request that
 * finds nothing queued at its priority or above while the pool has room is dispatched at once, without queueing.
 *
 * <p>{@link #enqueue} never blocks: it returns the request's {@link Ticket}, already finalized (dispatched or
 * rejected) or waiting; a waiting ticket is finalized later by the dispatcher thread (dispatched, TTL expired) or by
 * {@link Ticket#cancel} (the gateway went away), exactly once, and its listener then runs. So a queued request
 * holds no thread. The dispatcher runs a cycle after every enqueue, every settled dispatch and every millisecond
 * while anything waits; each cycle dispatches at most one request (GAIE's processor), so a detector that counts
 * in-flight requests sees each dispatch before the next.
 *
 * <p>A request's queue-wait budget depends on the pool (llm-d): {@code defaultRequestTTL} while it has endpoints,
 * {@code noEndpointRequestTTL} while it has none; each change of regime, seen by a dispatch cycle or an admission,
 * starts a fresh budget, and the whole wait stays within the longer of the two. Expiry or a full queue while the
 * pool is empty are answered as unavailability ({@code EvictedNoEndpoints}, {@code RejectedNoEndpoints}: 503).
 *
 * <p>The configuration is read on every call; when it changes (a reload) queued requests stay queued under the new
 * limits and policies, and when flow control is switched off they are all dispatched. Flows idle for
 * {@link #FLOW_GC_TIMEOUT} and bands that are not configured and idle for {@link #BAND_GC_TIMEOUT} are collected.
 * Thread-safe: one lock guards the queues; listeners run outside it.
 */
public final class FlowController implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FlowController.class);

    /** GAIE's {@code FlowGCTimeout}. */
    public static final Duration FLOW_GC_TIMEOUT = Duration.ofMinutes(5);
    /** GAIE's {@code PriorityBandGCTimeout}. */
    public static final Duration BAND_GC_TIMEOUT = Duration.ofMinutes(10);
    /** GAIE's dispatch ticker while requests wait. */
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long GC_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final String NOT_YET_FINALIZED = "NotYetFinalized";

    private final Supplier<FlowControlConfig> config;
    private final Supplier<List<Endpoint>> pool;
    private final FlowControlMetrics metrics;
    private final LongSupplier ticker;
    private final boolean dispatcherThread;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Bands by priority, highest first. */
    private final TreeMap<Integer, Band> bands = new TreeMap<>(java.util.Comparator.reverseOrder());
    /** Waiting tickets with a TTL, earliest deadline first. */
    private final TreeSet<Ticket> deadlines = new TreeSet<>((a, b) -> a.deadlineNanos != b.deadlineNanos
            ? Long.compare(a.deadlineNanos, b.deadlineNanos) : Long.compare(a.seq, b.seq));
    /** Flows without queued requests, longest idle first. */
    private final LinkedHashSet<Flow> idle = new LinkedHashSet<>();
    private FlowControlConfig applied;
    private long queuedRequests;
    private long queuedBytes;
    private long seq;
    private long lastGcNanos;
    /**
     * The request the dispatcher let go last while its scheduling has not settled, else null (guarded by
     * {@link #lock}): a detector that counts in-flight requests sees it only once it is scheduled, so the next
     * dispatch waits for it, at most {@link #SETTLE_WAIT_NANOS} (a stream that went away after its dispatch never
     * settles). Only with the dispatcher thread: a caller driving {@link #cycle} itself decides when the next
     * dispatch may go.
     */
    private Ticket unsettled;
    private long unsettledSinceNanos;
    static final long SETTLE_WAIT_NANOS = 100_000_000L;
    private boolean signalled;
    /** Whether the pool had no endpoint at the last look, and since when (ticker nanos). */
    private boolean poolEmpty;
    private long regimeSinceNanos;
    private boolean closed;
    private Thread dispatcher;

    /**
     * @param config the configuration serving now; null when flow control is off
     * @param pool every endpoint of the pool (the subset hint does not apply to flow control)
     * @param metrics where GAIE's flow-control metrics go, or null
     * @param ticker monotonic nanoseconds
     */
    public FlowController(Supplier<FlowControlConfig> config, Supplier<List<Endpoint>> pool,
                          FlowControlMetrics metrics, LongSupplier ticker) {
        this(config, pool, metrics, ticker, true);
    }

    /** As above; without a dispatcher thread the caller drives {@link #cycle} (tests with their own ticker). */
    FlowController(Supplier<FlowControlConfig> config, Supplier<List<Endpoint>> pool, FlowControlMetrics metrics,
                   LongSupplier ticker, boolean dispatcherThread) {
        this.config = config;
        this.pool = pool;
        this.metrics = metrics;
        this.ticker = ticker;
        this.dispatcherThread = dispatcherThread;
    }

    /** The flow-control settings serving now, or null when flow control is off. */
    public FlowControlConfig config() {
        return config.get();
    }

    /** Whether requests go through flow control now (the {@code flowControl} feature gate of the serving config). */
    public boolean enabled() {
        return config.get() != null;
    }

    /**
     * Admits {@code request}: dispatched at once when nothing waits at its priority or above and the pool has room,
     * rejected when a global or band limit would be exceeded, else queued. Never blocks.
     */
    public Ticket enqueue(FlowRequest request) {
        long start = ticker.getAsLong();
        Ticket t = new Ticket(this, request, start);
        Runnable[] fire = new Runnable[1];
        lock.lock();
        try {
            FlowControlConfig c = current(fire);
            if (closed || c == null) {
                t.outcome = closed ? Outcome.REJECTED_OTHER : Outcome.DISPATCHED;
            } else {
                List<Endpoint> endpoints = pool.get();
                regime(c, endpoints, start);
                Band band = band(request.priority(), c, start);
                Flow flow = band.flow(request.fairnessId(), start);
                if (flow.count == 0) {
                    idle.remove(flow); // idle from now on, so it goes to the back
                    idle.add(flow);
                    flow.idleSinceNanos = start;
                    band.idleSinceNanos = start;
                }
                flow.models.add(List.of(request.model(), request.targetModel()));
                if (queuedAtOrAbove(request.priority()) == 0 && dispatchable(c, endpoints, band)) {
                    t.outcome = Outcome.DISPATCHED;
                } else if (!hasCapacity(c, band, request.sizeBytes())) {
                    t.outcome = poolEmpty ? Outcome.REJECTED_NO_ENDPOINTS : Outcome.REJECTED_CAPACITY;
                } else {
                    t.seq = seq++;
                    t.deadlineNanos = deadline(c, start);
                    t.orderKey = orderKey(band.config.orderingPolicy(), t);
                    if (flow.count == 0) {
                        idle.remove(flow);
                    }
                    flow.add(t);
                    band.queued(t, +1, start);
                    queuedRequests++;
                    queuedBytes += request.sizeBytes();
                    if (t.deadlineNanos != Long.MAX_VALUE) {
                        deadlines.add(t);
                    }
                    if (metrics != null) {
                        metrics.queued(request, +1);
                    }
                    signalLocked();
                }
            }
        } finally {
            lock.unlock();
        }
        if (metrics != null) {
            double seconds = (ticker.getAsLong() - start) / 1e9;
            metrics.enqueued(request, t.outcome == null ? NOT_YET_FINALIZED : t.outcome.label(), seconds);
            if (t.outcome != null) {
                metrics.finalized(request, t.outcome, seconds);
            }
        }
        run(fire[0]);
        return t;
    }

    /** Requests waiting now. */
    public long queuedRequests() {
        lock.lock();
        try {
            return queuedRequests;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of the requests waiting now. */
    public long queuedBytes() {
        lock.lock();
        try {
            return queuedBytes;
        } finally {
            lock.unlock();
        }
    }

    /** Flows known now, idle ones included until they are collected. */
    public int flows() {
        lock.lock();
        try {
            int n = 0;
            for (Band b : bands.values()) {
                n += b.flows.size();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /**
     * One dispatch cycle at the ticker's time: applies a changed configuration, evicts expired requests, collects
     * idle flows when due, and dispatches at most one request; returns whether it dispatched one.
     */
    boolean cycle() {
        List<Runnable> fire = new ArrayList<>();
        boolean dispatched;
        long start = ticker.getAsLong();
        lock.lock();
        try {
            Runnable[] released = new Runnable[1];
            FlowControlConfig c = current(released);
            fire.add(released[0]);
            long now = ticker.getAsLong();
            List<Endpoint> endpoints = c == null || queuedRequests == 0 ? null : pool.get();
            if (endpoints != null) {
                regime(c, endpoints, now);
            }
            Outcome expired = poolEmpty ? Outcome.EVICTED_NO_ENDPOINTS : Outcome.EVICTED_TTL;
            while (!deadlines.isEmpty() && deadlines.first().deadlineNanos <= now) {
                fire.add(finalizeLocked(deadlines.first(), expired, now));
            }
            if (now - lastGcNanos >= GC_INTERVAL_NANOS) {
                lastGcNanos = now;
                collect(now);
            }
            if (unsettled != null && now - unsettledSinceNanos >= SETTLE_WAIT_NANOS) {
                unsettled = null;
            }
            Ticket next = endpoints == null || queuedRequests == 0 || unsettled != null ? null
                    : next(c, endpoints, now);
            dispatched = next != null;
            if (dispatched && dispatcherThread) {
                unsettled = next;
                unsettledSinceNanos = now;
            }
            if (dispatched) {
                fire.add(finalizeLocked(next, Outcome.DISPATCHED, now));
            }
        } finally {
            lock.unlock();
        }
        fire.forEach(FlowController::run);
        if (metrics != null) {
            metrics.cycle((ticker.getAsLong() - start) / 1e9);
        }
        return dispatched;
    }

    /**
     * The request to dispatch now, highest band first, or null while nothing waits or the usage limit gates: the
     * first band whose ceiling is at or below the saturation ends the search (head-of-line blocking, as GAIE, so
     * a lower band never overtakes a gated higher one).
     */
    private Ticket next(FlowControlConfig c, List<Endpoint> endpoints, long now) {
        double saturation = saturation(c, endpoints);
        if (c.usageLimitPolicy() == null && saturation >= c.usageLimitThreshold()) {
            return null; // the static usage-limit policy gates every band alike
        }
        double[] ceilings = c.usageLimitPolicy() == null ? null : ceilings(c, saturation);
        int i = 0;
        for (Band band : bands.values()) {
            if (ceilings != null && saturation >= ceilings[i++]) {
                return null;
            }
            Flow flow = band.count == 0 ? null : band.pick(now);
            if (flow != null) {
                return flow.head;
            }
        }
        return null;
    }

    /** Whether a request of {@code band} with nothing queued at or above it may go now. */
    private boolean dispatchable(FlowControlConfig c, List<Endpoint> endpoints, Band band) {
        double saturation = saturation(c, endpoints);
        if (c.usageLimitPolicy() == null) {
            return saturation < c.usageLimitThreshold();
        }
        double[] ceilings = ceilings(c, saturation);
        int i = 0;
        for (Band b : bands.values()) {
            if (saturation >= ceilings[i++]) {
                return false;
            }
            if (b == band) {
                return true;
            }
        }
        return false;
    }

    /** One ceiling per band in {@link #bands} order, from the usage-limit policy plugin. */
    private double[] ceilings(FlowControlConfig c, double saturation) {
        double[] ceilings = new double[bands.size()];
        int[] priorities = new int[bands.size()];
        int i = 0;
        for (Integer p : bands.keySet()) {
            priorities[i++] = p;
        }
        try {
            c.usageLimitPolicy().ceilings(saturation, priorities, ceilings);
        } catch (RuntimeException e) {
            LOG.error("usage-limit policy {} failed; gating every band this cycle", c.usageLimitPolicy().name(), e);
            java.util.Arrays.fill(ceilings, 0.0);
        }
        return ceilings;
    }

    private double saturation(FlowControlConfig c, List<Endpoint> endpoints) {
        double s = c.saturationDetector().saturation(endpoints);
        if (metrics != null) {
            metrics.saturation(s);
        }
        return s;
    }

    /**
     * Notes whether the pool has endpoints; when that changed since the last look, every queued request starts a
     * fresh budget for the new regime.
     */
    private void regime(FlowControlConfig c, List<Endpoint> endpoints, long now) {
        boolean empty = endpoints.isEmpty();
        if (empty == poolEmpty) {
            return;
        }
        poolEmpty = empty;
        regimeSinceNanos = now;
        rearm(c);
    }

    /** Recomputes every queued request's deadline (the regime or the configured budgets changed). */
    private void rearm(FlowControlConfig c) {
        deadlines.clear();
        for (Band band : bands.values()) {
            for (Flow flow : band.flows.values()) {
                for (Ticket t = flow.head; t != null; t = t.next) {
                    t.deadlineNanos = deadline(c, t.enqueueNanos);
                    if (t.deadlineNanos != Long.MAX_VALUE) {
                        deadlines.add(t);
                    }
                }
            }
        }
    }

    /**
     * When a request enqueued at {@code enqueueNanos} expires: its regime's budget from the later of its enqueue
     * and the regime's start, but no later than the longer budget from its enqueue; never when the budget is 0.
     */
    private long deadline(FlowControlConfig c, long enqueueNanos) {
        java.time.Duration budget = poolEmpty ? c.noEndpointRequestTtl() : c.defaultRequestTtl();
        if (budget.isZero()) {
            return Long.MAX_VALUE;
        }
        long deadline = Math.max(enqueueNanos, regimeSinceNanos) + budget.toNanos();
        if (!c.defaultRequestTtl().isZero() && !c.noEndpointRequestTtl().isZero()) {
            long longest = Math.max(c.defaultRequestTtl().toNanos(), c.noEndpointRequestTtl().toNanos());
            deadline = Math.min(deadline, enqueueNanos + longest);
        }
        return deadline;
    }

    /** The serving configuration, applied to the bands when it changed; {@code release[0]} is set to run after. */
    private FlowControlConfig current(Runnable[] release) {
        FlowControlConfig c = config.get();
        if (c == applied) {
            return c;
        }
        applied = c;
        if (c == null) {
            // flow control was switched off: whatever waits goes on to scheduling without it
            List<Runnable> fire = new ArrayList<>();
            long now = ticker.getAsLong();
            for (Band band : bands.values()) {
                for (Flow flow : band.flows.values()) {
                    while (flow.head != null) {
                        fire.add(finalizeLocked(flow.head, Outcome.DISPATCHED, now));
                    }
                }
            }
            if (!fire.isEmpty()) {
                LOG.info("flow control switched off: {} queued requests dispatched", fire.size());
            }
            release[0] = () -> fire.forEach(FlowController::run);
        } else {
            for (Map.Entry<Integer, Band> e : bands.entrySet()) {
                e.getValue().reconfigure(c.band(e.getKey()));
            }
            if (queuedRequests > 0) {
                rearm(c);
            }
            signalLocked();
        }
        return c;
    }

    private Band band(int priority, FlowControlConfig c, long now) {
        Band b = bands.get(priority);
        if (b == null) {
            b = new Band(priority, c.band(priority), now);
            bands.put(priority, b);
        }
        return b;
    }

    private long queuedAtOrAbove(int priority) {
        long n = 0;
        for (Band b : bands.headMap(priority, true).values()) {
            n += b.count;
        }
        return n;
    }

    private boolean hasCapacity(FlowControlConfig c, Band band, long size) {
        return (c.maxBytes() <= 0 || queuedBytes + size <= c.maxBytes())
                && (c.maxRequests() <= 0 || queuedRequests + 1 <= c.maxRequests())
                && (band.config.maxBytes() <= 0 || band.bytes + size <= band.config.maxBytes())
                && (band.config.maxRequests() <= 0 || band.count + 1 <= band.config.maxRequests());
    }

    private static long orderKey(String orderingPolicy, Ticket t) {
        return switch (orderingPolicy) {
            case FlowControlConfig.EDF -> t.deadlineNanos; // no TTL sorts last
            case FlowControlConfig.SLO_DEADLINE -> t.request.sloTtftMillis() < 0 ? Long.MAX_VALUE
                    : t.enqueueNanos + TimeUnit.MILLISECONDS.toNanos(t.request.sloTtftMillis());
            default -> t.seq; // fcfs-ordering-policy
        };
    }

    /** Finalizes a waiting ticket; returns its listener to run once the lock is released (or null). */
    private Runnable finalizeLocked(Ticket t, Outcome outcome, long now) {
        if (t.outcome != null) {
            return null;
        }
        t.outcome = outcome;
        Flow flow = t.flow;
        if (flow != null) {
            flow.remove(t, now);
            flow.band.queued(t, -1, now);
            if (flow.count == 0) {
                idle.add(flow);
            }
            queuedRequests--;
            queuedBytes -= t.request.sizeBytes();
            deadlines.remove(t);
            if (metrics != null) {
                metrics.queued(t.request, -1);
            }
        }
        if (metrics != null) {
            metrics.finalized(t.request, outcome, (now - t.enqueueNanos) / 1e9);
        }
        return t::fire;
    }

    /**
     * Drops flows idle for {@link #FLOW_GC_TIMEOUT}, oldest first (so a sweep costs what it collects), and bands that
     * are not configured, hold no flow and were idle for {@link #BAND_GC_TIMEOUT}.
     */
    private void collect(long now) {
        for (Iterator<Flow> fi = idle.iterator(); fi.hasNext(); ) {
            Flow flow = fi.next();
            if (now - flow.idleSinceNanos < FLOW_GC_TIMEOUT.toNanos()) {
                break;
            }
            fi.remove();
            flow.band.flows.remove(flow.id);
            if (metrics != null) {
                metrics.forget(flow.id, flow.band.priority, flow.models);
            }
        }
        for (Iterator<Band> bi = bands.values().iterator(); bi.hasNext(); ) {
            Band band = bi.next();
            boolean configured = applied != null && applied.bands().containsKey(band.priority);
            if (!configured && band.flows.isEmpty() && now - band.idleSinceNanos >= BAND_GC_TIMEOUT.toNanos()) {
                bi.remove();
            }
        }
    }

    void cancel(Ticket t) {
        Runnable fire;
        lock.lock();
        try {
            fire = finalizeLocked(t, Outcome.EVICTED_CONTEXT_CANCELLED, ticker.getAsLong());
        } finally {
            lock.unlock();
        }
        run(fire);
    }

    /** {@code ticket}'s request was scheduled or failed: the next cycle may see its load and dispatch. */
    private void settle(Ticket ticket) {
        lock.lock();
        try {
            if (unsettled == ticket) {
                unsettled = null;
            }
            signalLocked();
        } finally {
            lock.unlock();
        }
    }


    private void signalLocked() {
        signalled = true;
        if (dispatcherThread && dispatcher == null && !closed) {
            dispatcher = DaemonThreads.named("epp-flow-dispatcher").newThread(this::dispatchLoop);
            dispatcher.start();
        }
        wake.signal();
    }

    private void dispatchLoop() {
        while (true) {
            lock.lock();
            try {
                while (!signalled && !closed) {
                    long wait = queuedRequests > 0 ? TICK_NANOS : bands.isEmpty() ? Long.MAX_VALUE : GC_INTERVAL_NANOS;
                    if (!deadlines.isEmpty()) {
                        wait = Math.min(wait, Math.max(0, deadlines.first().deadlineNanos - ticker.getAsLong()));
                    }
                    if (wait == Long.MAX_VALUE) {
                        wake.awaitUninterruptibly();
                    } else if (wait > 0) {
                        try {
                            wake.awaitNanos(wait);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    break;
                }
                if (closed) {
                    return;
                }
                signalled = false;
            } finally {
                lock.unlock();
            }
            try {
                cycle();
            } catch (RuntimeException e) {
                LOG.error("flow-control dispatch cycle failed", e);
            }
        }
    }

    /** Stops dispatching; every waiting request is answered ({@code EvictedOther}), later ones rejected. */
    @Override
    public void close() {
        List<Runnable> fire = new ArrayList<>();
        Thread t;
        lock.lock();
        try {
            closed = true;
            long now = ticker.getAsLong();
            for (Band band : bands.values()) {
                for (Flow flow : band.flows.values()) {
                    while (flow.head != null) {
                        fire.add(finalizeLocked(flow.head, Outcome.EVICTED_OTHER, now));
                    }
                }
            }
            t = dispatcher;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        fire.forEach(FlowController::run);
        if (t != null) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void run(Runnable r) {
        if (r != null) {
            r.run();
        }
    }

    /**
     * One request's place in flow control, from admission to its outcome: the handle the stream keeps while the
     * request waits. Thread-safe.
     */
    public static final class Ticket {
        private static final Runnable DONE = () -> { };

        private final FlowController owner;
        final FlowRequest request;
        final long enqueueNanos;
        private final AtomicReference<Runnable> listener = new AtomicReference<>();
        /** Set under the controller's lock; read by the request's stream after its listener ran. */
        private volatile Outcome outcome;
        long seq;
        long deadlineNanos = Long.MAX_VALUE;
        long orderKey;
        Flow flow;
        Ticket prev;
        Ticket next;

        private Ticket(FlowController owner, FlowRequest request, long enqueueNanos) {
            this.owner = owner;
            this.request = request;
            this.enqueueNanos = enqueueNanos;
        }

        /** How the request left flow control, or null while it waits. */
        public Outcome outcome() {
            return outcome;
        }

        /**
         * Runs {@code then} once the request has an outcome, on the thread that gives it one; returns false, without
         * running it, when the outcome is there already (the caller goes on itself).
         */
        public boolean whenDone(Runnable then) {
            return outcome == null && listener.compareAndSet(null, then);
        }

        /** The gateway went away: leaves the queue at once ({@code EvictedContextCancelled}); no-op when done. */
        public void cancel() {
            if (outcome == null) {
                owner.cancel(this);
            }
        }

        /** The dispatched request was scheduled or failed: the dispatcher may look at the pool again. */
        public void settled() {
            if (flow != null) {
                owner.settle(this);
            }
        }

        private void fire() {
            Runnable r = listener.getAndSet(DONE);
            if (r != null && r != DONE) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.error("flow-control listener failed", e);
                }
            }
        }
    }

    /** One priority band: its flows, the non-empty ones in fairness order, and its totals. */
    private static final class Band {
        final int priority;
        FlowControlConfig.Band config;
        final Map<String, Flow> flows = new HashMap<>();
        /** Non-empty flows; round-robin takes the first and moves it to the back. */
        final LinkedHashSet<Flow> rotation = new LinkedHashSet<>();
        long count;
        long bytes;
        long idleSinceNanos;

        Band(int priority, FlowControlConfig.Band config, long now) {
            this.priority = priority;
            this.config = config;
            this.idleSinceNanos = now;
        }

        void reconfigure(FlowControlConfig.Band next) {
            config = next;
        }

        Flow flow(String id, long now) {
            Flow f = flows.get(id);
            if (f == null) {
                f = new Flow(id, this, now);
                flows.put(id, f);
            }
            return f;
        }

        void queued(Ticket t, int sign, long now) {
            count += sign;
            bytes += sign * t.request.sizeBytes();
            idleSinceNanos = now;
        }

        /** The flow whose head leaves next under the band's fairness policy, or null (a policy plugin declined). */
        Flow pick(long now) {
            FairnessPolicy plugin = config.fairnessPlugin();
            if (plugin != null) {
                List<Flow> flows = new ArrayList<>(rotation);
                List<FairnessPolicy.QueuedFlow> view = new ArrayList<>(flows.size());
                for (Flow f : flows) {
                    view.add(new FairnessPolicy.QueuedFlow(f.id, f.count, now - f.head.enqueueNanos));
                }
                try {
                    int i = plugin.pick(priority, view);
                    return i >= 0 && i < flows.size() ? flows.get(i) : null;
                } catch (RuntimeException e) {
                    LOG.error("fairness policy {} failed; band {} skipped this cycle", plugin.name(), priority, e);
                    return null;
                }
            }
            if (config.fairnessPolicy().equals(FlowControlConfig.ROUND_ROBIN)) {
                Flow f = rotation.iterator().next();
                rotation.remove(f);
                rotation.add(f);
                return f;
            }
            // global-strict-fairness-policy: the best head of the band under its ordering policy
            Flow best = null;
            for (Flow f : rotation) {
                if (best == null || f.head.orderKey < best.head.orderKey
                        || f.head.orderKey == best.head.orderKey && f.head.seq < best.head.seq) {
                    best = f;
                }
            }
            return best;
        }
    }

    /** One fairness id's queue within a band, kept in ordering-policy order (a doubly linked list of tickets). */
    private static final class Flow {
        final String id;
        final Band band;
        final Set<List<String>> models = new HashSet<>(2);
        Ticket head;
        Ticket tail;
        int count;
        long idleSinceNanos;

        Flow(String id, Band band, long now) {
            this.id = id;
            this.band = band;
            this.idleSinceNanos = now;
        }

        /** Inserts in order of {@code orderKey} (ties: arrival), scanning from the back, where new ones belong. */
        void add(Ticket t) {
            t.flow = this;
            Ticket after = tail;
            while (after != null && after.orderKey > t.orderKey) {
                after = after.prev;
            }
            t.prev = after;
            t.next = after == null ? head : after.next;
            if (t.next != null) {
                t.next.prev = t;
            } else {
                tail = t;
            }
            if (after != null) {
                after.next = t;
            } else {
                head = t;
            }
            if (count++ == 0) {
                band.rotation.add(this);
            }
        }

        void remove(Ticket t, long now) {
            if (t.prev != null) {
                t.prev.next = t.next;
            } else {
                head = t.next;
            }
            if (t.next != null) {
                t.next.prev = t.prev;
            } else {
                tail = t.prev;
            }
            t.prev = null;
            t.next = null;
            if (--count == 0) {
                band.rotation.remove(this);
                idleSinceNanos = now;
            }
        }
    }

    /** For logs. */
    @Override
    public String toString() {
        return "FlowController[queued=" + queuedRequests() + "]";
    }
}
