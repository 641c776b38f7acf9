package io.epp4j.epp.director;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingException;
import io.epp4j.spi.SchedulingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Routes one parsed request: candidates (pool, narrowed by the gateway's subset hint) → admission → scheduling,
 * and holds the in-flight accounting until the exchange completes. Thread-safe; one instance per server.
 */
public final class Director {

    private static final Logger LOG = LoggerFactory.getLogger(Director.class);

    static final String NO_CANDIDATES = "failed to find endpoint candidates for serving the request";
    static final String NO_PODS = "no pods available in datastore";

    private final EndpointStore store;
    private final RequestScheduler scheduler;
    private final ObjectiveResolver objectives;
    private final ModelRewriter modelRewriter;
    private final boolean ignoreSubsetHint;
    private final RandomScheduler anyPicker;

    public Director(EndpointStore store, RequestScheduler scheduler, ObjectiveResolver objectives,
                    ModelRewriter modelRewriter, boolean ignoreSubsetHint, RandomScheduler anyPicker) {
        this.store = store;
        this.scheduler = scheduler;
        this.objectives = objectives;
        this.modelRewriter = modelRewriter;
        this.ignoreSubsetHint = ignoreSubsetHint;
        this.anyPicker = anyPicker;
    }

    /** The priority of the request's InferenceObjective (0 when none or unknown). */
    public int priorityOf(String objectiveName) {
        return objectiveName == null || objectiveName.isEmpty() ? 0 : objectives.priorityOf(objectiveName);
    }

    /**
     * The model to serve: the x-gateway-model-name-rewrite header when present (an explicit per-request choice),
     * else the InferenceModelRewrite rules' choice, else the model as asked. The result names the rewrite only
     * when a rule chose.
     */
    public ModelRewriter.Choice targetModel(String incomingModel, String rewriteHeader) {
        if (rewriteHeader != null && !rewriteHeader.isEmpty()) {
            return new ModelRewriter.Choice(null, rewriteHeader);
        }
        ModelRewriter.Choice fromRule = modelRewriter.rewrite(incomingModel);
        if (fromRule == null || fromRule.targetModel() == null || fromRule.targetModel().isEmpty()) {
            return new ModelRewriter.Choice(null, incomingModel);
        }
        return fromRule;
    }

    /**
     * Schedules a request and takes an in-flight slot on the primary endpoint.
     *
     * @param subsetHint the gateway's {@code ip:port} subset, or null when it sent none
     */
    public Routed route(InferenceRequest request, List<String> subsetHint) throws InferenceError {
        List<Endpoint> candidates = candidates(subsetHint);
        if (candidates.isEmpty()) {
            throw new InferenceError(InferenceError.Code.SERVICE_UNAVAILABLE, NO_CANDIDATES);
        }
        String denial;
        SchedulingResult result;
        try {
            denial = scheduler.admissionDenial(request, candidates);
            if (denial != null) {
                throw new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED, denial);
            }
            result = scheduler.schedule(request, candidates);
        } catch (SchedulingException e) {
            throw new InferenceError(InferenceError.Code.RESOURCE_EXHAUSTED,
                    "failed to find target endpoint: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new InferenceError(InferenceError.Code.INTERNAL, "scheduler failed: " + e, e);
        }
        if (result == null) {
            throw new InferenceError(InferenceError.Code.INTERNAL, "results must be greater than zero");
        }
        long tokens = request.estimatedPromptTokens();
        EndpointStore.InFlightSlot slot = store.acquire(result.primary().info().name(), tokens);
        return new Routed(request, result, tokens, slot);
    }

    /** A uniformly random candidate for a request without a body (GET /v1/models and the like). */
    public Endpoint pickAny(List<String> subsetHint) throws InferenceError {
        List<Endpoint> candidates = candidates(subsetHint);
        if (candidates.isEmpty()) {
            throw store.size() == 0
                    ? new InferenceError(InferenceError.Code.INTERNAL, NO_PODS)
                    : new InferenceError(InferenceError.Code.SERVICE_UNAVAILABLE, NO_CANDIDATES);
        }
        return anyPicker.pick(candidates);
    }

    /** Tells the scheduler the pick went out (pre-request hooks); a failing hook is logged, not fatal. */
    public void picked(Routed routed) {
        try {
            scheduler.onPicked(routed.request(), routed.result());
        } catch (RuntimeException e) {
            LOG.warn("Scheduler onPicked failed for request {}", routed.request().requestId(), e);
        }
    }

    /** Releases the in-flight slot and tells the scheduler; only the first call per request has an effect. */
    public boolean complete(Routed routed, ResponseUsage usage, boolean success) {
        if (!routed.completed.compareAndSet(false, true)) {
            return false;
        }
        routed.slot.release();
        try {
            scheduler.onComplete(routed.request(), routed.primary(), usage, success);
        } catch (RuntimeException e) {
            LOG.warn("Scheduler onComplete failed for request {}", routed.request().requestId(), e);
        }
        return true;
    }

    public RequestScheduler scheduler() {
        return scheduler;
    }

    private List<Endpoint> candidates(List<String> subsetHint) {
        List<Endpoint> all = store.snapshot();
        if (subsetHint == null || ignoreSubsetHint) {
            return all;
        }
        Set<String> ips = new HashSet<>();
        for (String address : subsetHint) {
            ips.add(ipOf(address));
        }
        List<Endpoint> out = new ArrayList<>();
        for (Endpoint e : all) {
            if (ips.contains(e.info().ip())) {
                out.add(e);
            }
        }
        return out;
    }

    /** The IP of {@code ip:port} / {@code [v6]:port}: GAIE matches subset hints by IP only. */
    static String ipOf(String address) {
        String a = address.trim();
        int colon = a.lastIndexOf(':');
        String host = colon > 0 && a.indexOf(':') == colon || a.startsWith("[") ? a.substring(0, colon) : a;
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host;
    }
}
