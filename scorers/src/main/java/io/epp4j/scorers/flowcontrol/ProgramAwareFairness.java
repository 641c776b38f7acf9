package io.epp4j.scorers.flowcontrol;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.FairnessPolicy;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * {@code program-aware-fairness} (llm-d): a fairness policy that serves the program (fairness id) that has
 * received the least service lately ("least attained service"). A program's attained service is the tokens its
 * completed requests used, output tokens counting twice ({@code prompt + 2 × completion}, from the response's
 * {@code usage}), halved every {@code lasHalfLifeSeconds} (60; 0 = never decays). Each pick scores the band's
 * waiting flows as {@code lasWeightService × (1 - normalized service) + lasWeightHeadWait × normalized head wait}
 * (weights 0.8 and 0.2; both normalized min-max over the flows, 0.5 when all are equal) and takes the highest,
 * the earlier flow on a tie. A program with nothing in flight and no completion for {@code evictionTtlSeconds}
 * (3600; 0 = never) is forgotten, checked every {@code evictionSweepSeconds} (300). {@code strategy} must be
 * {@code las}, the only one. Thread-safe.
 */
public final class ProgramAwareFairness extends NamedPlugin implements FairnessPolicy, PreRequest, ResponseObserver {

    public static final String TYPE = "program-aware-fairness";
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final double weightService;
    private final double weightHeadWait;
    private final double halfLifeSeconds;
    private final long evictionTtlNanos;
    private final long sweepNanos;
    private final LongSupplier ticker;
    private final Map<String, Program> programs = new ConcurrentHashMap<>();
    private volatile long lastSweepNanos;

    /** @param ticker monotonic nanoseconds, for decay and eviction */
    public ProgramAwareFairness(String name, PluginParameters parameters, LongSupplier ticker) {
        super(TYPE, name);
        String strategy = parameters.getString("strategy", "las");
        if (!strategy.isEmpty() && !strategy.equals("las")) {
            throw new IllegalArgumentException("unknown strategy '" + strategy + "': only \"las\" is supported");
        }
        this.weightService = parameters.getDouble("lasWeightService", 0.8);
        this.weightHeadWait = parameters.getDouble("lasWeightHeadWait", 0.2);
        this.halfLifeSeconds = parameters.getDouble("lasHalfLifeSeconds", 60);
        double ttl = parameters.getDouble("evictionTtlSeconds", 3600);
        double sweep = parameters.getDouble("evictionSweepSeconds", 300);
        if (weightService < 0 || weightHeadWait < 0 || halfLifeSeconds < 0 || ttl < 0) {
            throw new IllegalArgumentException("lasWeightService, lasWeightHeadWait, lasHalfLifeSeconds and"
                    + " evictionTtlSeconds must be >= 0");
        }
        if (!(sweep > 0)) {
            throw new IllegalArgumentException("parameter 'evictionSweepSeconds' must be > 0");
        }
        this.evictionTtlNanos = (long) (ttl * NANOS_PER_SECOND);
        this.sweepNanos = (long) (sweep * NANOS_PER_SECOND);
        this.ticker = ticker;
        this.lastSweepNanos = ticker.getAsLong();
    }

    @Override
    public int pick(int priority, List<QueuedFlow> flows) {
        long now = ticker.getAsLong();
        sweep(now);
        int n = flows.size();
        double[] service = new double[n];
        double minS = Double.MAX_VALUE;
        double maxS = -Double.MAX_VALUE;
        double minW = Double.MAX_VALUE;
        double maxW = -Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            QueuedFlow f = flows.get(i);
            Program p = programs.get(f.fairnessId());
            service[i] = p == null ? 0 : p.service(now, halfLifeSeconds);
            double wait = f.headWaitNanos();
            minS = Math.min(minS, service[i]);
            maxS = Math.max(maxS, service[i]);
            minW = Math.min(minW, wait);
            maxW = Math.max(maxW, wait);
        }
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double score = weightService * (1 - normalize(service[i], minS, maxS))
                    + weightHeadWait * normalize(flows.get(i).headWaitNanos(), minW, maxW);
            if (score > bestScore) {
                bestScore = score;
                best = i;
            }
        }
        return best;
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        program(request.fairnessId()).inFlight(+1, ticker.getAsLong());
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        long now = ticker.getAsLong();
        Program p = program(request.fairnessId());
        long cost = Math.max(0, usage.promptTokens()) + 2 * Math.max(0, usage.completionTokens());
        p.complete(cost, now, halfLifeSeconds);
        sweep(now);
    }

    /** On a reload, the programs' service and in-flight counts carry over, so fairness does not restart. */
    @Override
    public boolean takeOver(io.epp4j.spi.Plugin predecessor) {
        if (predecessor instanceof ProgramAwareFairness previous) {
            programs.putAll(previous.programs);
            return true;
        }
        return false;
    }

    /** A program's attained service now, in weighted tokens (0 when unknown). */
    public double attainedService(String fairnessId) {
        Program p = programs.get(fairnessId);
        return p == null ? 0 : p.service(ticker.getAsLong(), halfLifeSeconds);
    }

    /** Programs remembered now. */
    public int programs() {
        return programs.size();
    }

    private Program program(String id) {
        return programs.computeIfAbsent(id, k -> new Program(ticker.getAsLong()));
    }

    private void sweep(long now) {
        if (evictionTtlNanos <= 0 || now - lastSweepNanos < sweepNanos) {
            return;
        }
        lastSweepNanos = now;
        programs.entrySet().removeIf(e -> e.getValue().idleLongerThan(now, evictionTtlNanos));
    }

    private static double normalize(double v, double min, double max) {
        return max == min ? 0.5 : (v - min) / (max - min);
    }

    /** One program's decayed service and in-flight count. */
    private static final class Program {
        private double service;
        private long anchorNanos;
        private long lastCompletionNanos;
        private int inFlight;

        Program(long now) {
            this.anchorNanos = now;
            this.lastCompletionNanos = now;
        }

        synchronized double service(long now, double halfLifeSeconds) {
            decay(now, halfLifeSeconds);
            return service;
        }

        synchronized void inFlight(int delta, long now) {
            inFlight += delta;
        }

        synchronized void complete(long cost, long now, double halfLifeSeconds) {
            decay(now, halfLifeSeconds);
            service += cost;
            inFlight = Math.max(0, inFlight - 1);
            lastCompletionNanos = now;
        }

        synchronized boolean idleLongerThan(long now, long ttlNanos) {
            return inFlight == 0 && now - lastCompletionNanos > ttlNanos;
        }

        private void decay(long now, double halfLifeSeconds) {
            long elapsed = now - anchorNanos;
            if (elapsed <= 0) {
                return;
            }
            if (halfLifeSeconds > 0) {
                service *= Math.pow(2, -(elapsed / (double) NANOS_PER_SECOND) / halfLifeSeconds);
            }
            anchorNanos = now;
        }
    }
}
