package io.epp4j.bench.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A fleet of simulated engines and a router, run in simulated time (discrete events, no threads, no sleeping):
 * requests arrive on their schedule, the router picks a pod for each, the engines step through their work, and
 * every request's first token and end are recorded. The same engines serve real HTTP in {@link SimServer}; here
 * nothing is real-time, so a run is deterministic for its seed and costs only the CPU of the simulation and the
 * router (routing itself takes no simulated time).
 *
 * <p>At equal times the router's tick comes first (a decision sees the metrics of that instant), then arrivals,
 * then the engines (requests arriving at the same instant can share an engine's next step).
 */
public final class FleetSimulation {

    /**
     * One request of a run.
     *
     * @param arrivalMs arrival in simulated milliseconds from the start
     * @param model the base model or a LoRA adapter
     * @param prompt the prompt text (4 characters a token)
     * @param outputTokens tokens to generate
     */
    public record Arrival(long arrivalMs, String model, String prompt, int outputTokens) {
    }

    /** What the router sees of the fleet. */
    public interface Fleet {
        int size();

        EngineCore pod(int index);

        /** The pod's vLLM {@code /metrics} exposition now (gauges and counters; histograms stay empty). */
        String metricsText(int index, long nowNanos);
    }

    /** Picks a pod for each request; told what happened to it. Called from the simulation's one thread. */
    public interface Router {
        /** The pod for request {@code index}, or -1 to refuse it (an answer without a pod, like an EPP's 503). */
        int route(int index, Arrival arrival, long nowNanos, Fleet fleet);

        /** The request's first token left the pod. */
        default void firstToken(int index, int pod, long atNanos) {
        }

        /** Another of the request's tokens left the pod (after the first). */
        default void token(int index, int pod, long atNanos) {
        }

        /** The request ended (its last token, or refused by the pod with {@code status}). */
        default void finished(int index, int pod, Seq seq, int status, long atNanos) {
        }

        /** Called every {@link #tickNanos()} while requests are outstanding (e.g. to scrape metrics). */
        default void tick(long nowNanos, Fleet fleet) {
        }

        /** The tick period, 0 for none. */
        default long tickNanos() {
            return 0;
        }
    }

    /**
     * What happened to one request.
     *
     * @param status 200 when served, 429/400 when its pod refused it, 503 when the router did
     */
    public record Outcome(int pod, int status, long arrivalNanos, long firstTokenNanos, long finishedNanos,
                          int promptTokens, int cachedTokens, int outputTokens, int preemptions) {

        public boolean served() {
            return status == 200;
        }

        public double ttftMs() {
            return (firstTokenNanos - arrivalNanos) / 1e6;
        }

        /** Mean time between tokens after the first, 0 for a one-token answer. */
        public double itlMs() {
            return outputTokens > 1 ? (finishedNanos - firstTokenNanos) / 1e6 / (outputTokens - 1) : 0;
        }
    }

    /** A whole run: one outcome per arrival, in arrival order. */
    public record Run(List<Outcome> outcomes, int pods) {
    }

    private final List<Arrival> arrivals;
    private final EngineCore[] pods;
    private final SimMetrics[] metrics;
    private final Router router;
    private final Outcome[] outcomes;
    private final Seq[] seqs;
    private final PodEvents[] events;
    private int outstanding;

    private FleetSimulation(List<Arrival> arrivals, List<SimConfig> configs, double[] slowFactors, Router router) {
        this.arrivals = arrivals;
        this.router = router;
        this.pods = new EngineCore[configs.size()];
        this.metrics = new SimMetrics[configs.size()];
        for (int i = 0; i < pods.length; i++) {
            pods[i] = EngineCore.create(configs.get(i));
            pods[i].setSlowFactor(slowFactors == null ? 1.0 : slowFactors[i]);
            metrics[i] = new SimMetrics(configs.get(i), 1.7e9);
        }
        this.events = new PodEvents[configs.size()];
        for (int i = 0; i < events.length; i++) {
            events[i] = new PodEvents(i);
        }
        this.outcomes = new Outcome[arrivals.size()];
        this.seqs = new Seq[arrivals.size()];
    }

    /**
     * Runs {@code arrivals} (sorted by arrival) over one pod per config.
     *
     * @param slowFactors per pod, a factor on every duration (a straggler), or null for none
     */
    public static Run run(List<Arrival> arrivals, List<SimConfig> configs, double[] slowFactors, Router router) {
        if (configs.isEmpty()) {
            throw new IllegalArgumentException("a fleet needs at least one pod");
        }
        return new FleetSimulation(arrivals, configs, slowFactors, router).run();
    }

    /** {@code pods} pods of one config, pod {@code i} seeded {@code config.seed() + i}. */
    public static List<SimConfig> uniform(SimConfig config, int pods) {
        List<SimConfig> out = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            out.add(config.withSeed(config.seed() + i));
        }
        return out;
    }

    private final Fleet fleet = new Fleet() {
        @Override
        public int size() {
            return pods.length;
        }

        @Override
        public EngineCore pod(int index) {
            return pods[index];
        }

        @Override
        public String metricsText(int index, long nowNanos) {
            return metrics[index].exposition(pods[index].snapshot(nowNanos), 1.7e9 + nowNanos / 1e9);
        }
    };

    private Run run() {
        long tick = router.tickNanos();
        long nextTick = tick > 0 ? 0 : Long.MAX_VALUE;
        int next = 0;
        while (true) {
            long arrival = next < arrivals.size() ? arrivals.get(next).arrivalMs() * 1_000_000L : Long.MAX_VALUE;
            long podTime = Long.MAX_VALUE;
            for (EngineCore p : pods) {
                podTime = Math.min(podTime, p.nextEventNanos());
            }
            if (outstanding == 0 && next < arrivals.size() && tick > 0) {
                nextTick = Math.max(nextTick, arrival - arrival % tick); // skip idle stretches
            }
            long tickTime = outstanding > 0 || next < arrivals.size() ? nextTick : Long.MAX_VALUE;
            long t = Math.min(arrival, Math.min(podTime, tickTime));
            if (t == Long.MAX_VALUE) {
                break;
            }
            if (tickTime == t) {
                router.tick(t, fleet);
                nextTick = t + tick;
            } else if (arrival == t) {
                arrive(next++, t);
            } else {
                for (int i = 0; i < pods.length; i++) {
                    if (pods[i].nextEventNanos() == t) {
                        pods[i].advance(t, events[i]);
                    }
                }
            }
        }
        return new Run(Arrays.asList(outcomes), pods.length);
    }

    private void arrive(int index, long now) {
        Arrival a = arrivals.get(index);
        int pod = router.route(index, a, now, fleet);
        int tokens = EngineCore.promptTokens(a.prompt());
        if (pod < 0) {
            outcomes[index] = new Outcome(-1, 503, now, -1, now, tokens, 0, 0, 0);
            return;
        }
        EngineCore engine = pods[pod];
        String adapter = a.model().equals(engine.config().model()) ? null : a.model();
        try {
            seqs[index] = engine.submit(adapter, a.prompt(), a.outputTokens(), index, now);
            outstanding++;
        } catch (EngineCore.RejectedException e) {
            outcomes[index] = new Outcome(pod, e.status(), now, -1, now, tokens, 0, 0, 0);
            router.finished(index, pod, null, e.status(), now);
        }
    }

    private final class PodEvents implements EngineCore.Events {
        private final int pod;

        PodEvents(int pod) {
            this.pod = pod;
        }

        @Override
        public void firstToken(Seq seq, long atNanos) {
            router.firstToken((Integer) seq.tag(), pod, atNanos);
        }

        @Override
        public void token(Seq seq, long atNanos) {
            router.token((Integer) seq.tag(), pod, atNanos);
        }

        @Override
        public void finished(Seq seq, long atNanos) {
            int index = (Integer) seq.tag();
            outstanding--;
            int status = seq.aborted() ? 499 : 200;
            outcomes[index] = new Outcome(pod, status, seq.arrivalNanos(), seq.firstTokenNanos(), atNanos,
                    seq.promptTokens(), seq.cachedTokens(), seq.generated(), seq.preemptions());
            router.finished(index, pod, seq, status, atNanos);
        }
    }

    /**
     * A what-if run gives up past this much simulated time: deep in overload every pod's queue is long, and the
     * choice among them matters less to a first token that far away than the time it costs to simulate.
     */
    public static final long WHAT_IF_HORIZON_NANOS = 20_000_000_000L;
    /** At most this many pods get a what-if run per decision, the most promising first. */
    public static final int WHAT_IF_PODS = 4;

    /**
     * The pod whose copy of the engine would give this request its first token soonest. Pods are ranked by a cheap
     * bound ({@link EngineCore#firstTokenLowerBound}: the step in flight, the pod's cache) and then by
     * {@code load}; the {@link #WHAT_IF_PODS} best-ranked get a what-if run, each stopping once it is later than the
     * best so far. When none gives a first token within {@link #WHAT_IF_HORIZON_NANOS}, the best-ranked pod.
     */
    public static int soonestFirstToken(Arrival a, long nowNanos, Fleet fleet, long[] load) {
        int n = fleet.size();
        long[] bound = new long[n];
        Integer[] order = new Integer[n];
        for (int p = 0; p < n; p++) {
            EngineCore engine = fleet.pod(p);
            bound[p] = engine.firstTokenLowerBound(adapterOf(a, engine), a.prompt(), nowNanos);
            order[p] = p;
        }
        java.util.Arrays.sort(order, java.util.Comparator.<Integer>comparingLong(p -> bound[p])
                .thenComparingLong(p -> load[p]).thenComparingInt(p -> p));
        int best = -1;
        long bestAt = nowNanos + WHAT_IF_HORIZON_NANOS;
        for (int k = 0; k < Math.min(n, WHAT_IF_PODS); k++) {
            int p = order[k];
            if (bound[p] >= bestAt) {
                break; // ranked by bound: no later pod can beat the best either
            }
            EngineCore engine = fleet.pod(p);
            long at = engine.whatIfFirstToken(adapterOf(a, engine), a.prompt(), a.outputTokens(), nowNanos,
                    bestAt - 1);
            if (at < bestAt) {
                best = p;
                bestAt = at;
            }
        }
        return best >= 0 ? best : order[0];
    }

    private static String adapterOf(Arrival a, EngineCore engine) {
        return a.model().equals(engine.config().model()) ? null : a.model();
    }
}
