package io.epp4j.scorers.load;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.Scorer;
import io.epp4j.spi.SchedulingResult;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code prefill-backlog-scorer} (epp4j): scores each endpoint by how much prefill work the request would queue
 * behind there, counting its own prefill too, so that a cache hit on a busy endpoint is weighed against a miss
 * on an idle one in one unit (prompt tokens to prefill).
 *
 * <p>{@code cost = backlogTokens + uncachedTokenWeight × uncachedTokens + requestOverheadTokens × (pendingRequests
 * + 1)}, score
 * {@code minCost / cost} (1.0 for the cheapest endpoint). {@code backlogTokens} and {@code pendingRequests} count
 * the requests this EPP has sent to the endpoint that have not produced their first response bytes yet: they are
 * exact and change with every pick, whereas scraped queue depth is one scrape old and says nothing about how long
 * the queued prompts are. A request enters the backlog at the pick with the tokens it was expected to prefill
 * there (the prompt minus the {@code approx-prefix-cache-producer}'s match) and leaves it at its first response
 * body chunk (the first token, when streamed) or its end. {@code uncachedTokens} is the same estimate for this
 * request on each endpoint; without a producer the whole prompt counts everywhere and the score is load only.
 *
 * <p>What it does not see: requests other EPP replicas sent (pair it with {@code queue-scorer}), and decode load,
 * which slows tokens after the first rather than the first (pair it with {@code active-request-scorer}).
 *
 * <p>Parameters: {@code requestOverheadTokens} (default 256), the fixed cost of a request in prompt-token
 * equivalents (scheduling, the first decode step), which keeps many tiny prompts from looking free;
 * {@code uncachedTokenWeight} (default 1, at least 1), how much more a token to prefill here counts than a token
 * queued ahead. At 1 the scorer minimises this request's own wait. Above 1 it also charges a miss for what it
 * costs others: the endpoint is busy longer for every later request, and the copied prefix evicts cached ones,
 * so under load it keeps a prefix on its endpoint until the queue there is several misses long instead of
 * copying it at the first backlog. Per-endpoint state is kept by endpoint name.
 */
public final class PrefillBacklogScorer extends NamedPlugin implements Scorer, PreRequest, ResponseObserver {

    public static final String TYPE = "prefill-backlog-scorer";

    private static final CycleState.Key<Pending> PENDING = new CycleState.Key<>("prefill-backlog-pending");

    private final double requestOverheadTokens;
    private final double uncachedTokenWeight;
    private final ConcurrentHashMap<String, Backlog> backlogs = new ConcurrentHashMap<>();

    /** One endpoint's requests between pick and first response bytes. */
    private static final class Backlog {
        final AtomicLong tokens = new AtomicLong();
        final AtomicLong requests = new AtomicLong();
    }

    /** One request's share of an endpoint's backlog, released exactly once. */
    private record Pending(String endpoint, long tokens, AtomicBoolean released) {
    }

    private void release(Pending p) {
        if (p.released().compareAndSet(false, true)) {
            // an endpoint with nothing pending is dropped, so endpoints that went away leave nothing behind
            backlogs.computeIfPresent(p.endpoint(), (name, b) -> {
                b.tokens.addAndGet(-p.tokens());
                return b.requests.decrementAndGet() <= 0 ? null : b;
            });
        }
    }

    public PrefillBacklogScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.requestOverheadTokens = parameters.getDouble("requestOverheadTokens", 256);
        this.uncachedTokenWeight = parameters.getDouble("uncachedTokenWeight", 1);
        if (!(requestOverheadTokens >= 0)) {
            throw new IllegalArgumentException("parameter 'requestOverheadTokens' must be >= 0");
        }
        if (!(uncachedTokenWeight >= 1)) {
            throw new IllegalArgumentException("parameter 'uncachedTokenWeight' must be >= 1");
        }
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        PrefixMatch match = state.get(PrefixMatch.KEY);
        double minCost = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(i);
            Backlog b = backlogs.get(e.info().name());
            long backlogTokens = b == null ? 0 : Math.max(0, b.tokens.get());
            long pending = b == null ? 0 : Math.max(0, b.requests.get());
            double cost = backlogTokens + uncachedTokenWeight * uncachedTokens(request, match, e)
                    + requestOverheadTokens * (pending + 1);
            scores[i] = cost;
            minCost = Math.min(minCost, cost);
        }
        for (int i = 0; i < n; i++) {
            scores[i] = scores[i] <= 0 ? 1.0 : minCost / scores[i];
        }
    }

    /** The request's prompt tokens the endpoint probably does not hold: the prompt minus the matched share. */
    static double uncachedTokens(InferenceRequest request, PrefixMatch match, Endpoint e) {
        double prompt = request.estimatedPromptTokens();
        if (match == null || match.blockCount() == 0) {
            return prompt;
        }
        return prompt * (1.0 - (double) match.matchedBlocks(e) / match.blockCount());
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        Endpoint target = result.primary();
        if (target == null || state.get(PENDING) != null) {
            return;
        }
        long tokens = Math.round(uncachedTokens(request, state.get(PrefixMatch.KEY), target));
        String name = target.info().name();
        backlogs.compute(name, (k, b) -> {
            Backlog backlog = b == null ? new Backlog() : b;
            backlog.tokens.addAndGet(tokens);
            backlog.requests.incrementAndGet();
            return backlog;
        });
        state.put(PENDING, new Pending(name, tokens, new AtomicBoolean()));
    }

    @Override
    public void onResponseBody(CycleState state, InferenceRequest request, Endpoint target, ByteSlice chunk,
                               boolean endOfStream) {
        Pending p = state.get(PENDING);
        if (p != null && (chunk.length() > 0 || endOfStream)) {
            release(p);
        }
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        Pending p = state.get(PENDING);
        if (p != null) {
            release(p);
        }
    }

    /** Endpoints with requests pending (for tests and diagnostics). */
    public int trackedEndpoints() {
        return backlogs.size();
    }

    /** Prompt tokens sent to {@code endpoint} and not yet answered (for tests and diagnostics). */
    public long backlogTokens(String endpoint) {
        Backlog b = backlogs.get(endpoint);
        return b == null ? 0 : b.tokens.get();
    }
}
