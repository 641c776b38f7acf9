package io.epp4j.epp.director;

import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.spi.InferenceRequest;

/**
 * Turns a parsed body and its arrival into the request the scheduler sees: the model it is served as (rewrite
 * header, else the InferenceModelRewrite rules), its InferenceObjective's priority and its flow (fairness id).
 */
final class Requests {
    private final ObjectiveResolver objectives;
    private final ModelRewriter modelRewriter;
    private final EppMetrics metrics;

    /** @param metrics where rule rewrites are counted, or null */
    Requests(ObjectiveResolver objectives, ModelRewriter modelRewriter, EppMetrics metrics) {
        this.objectives = objectives;
        this.modelRewriter = modelRewriter;
        this.metrics = metrics;
    }

    /** llm-d's header when the request has it (non-empty), else GAIE's. */
    private static String header(Arrival arrival, String llmd, String gaie) {
        String v = arrival.headers().get(llmd);
        return v == null || v.isEmpty() ? arrival.headers().get(gaie) : v;
    }

    /** The request as it will be scheduled: its target model, priority and flow (fairness id). */
    InferenceRequest of(ParsedRequest body, Arrival arrival) {
        String model = body.model();
        String targetModel = targetModel(model,
                header(arrival, Director.LLMD_MODEL_REWRITE, Director.MODEL_REWRITE));
        String objective = header(arrival, Director.LLMD_OBJECTIVE, Director.OBJECTIVE);
        int priority = objective == null || objective.isEmpty() ? 0 : objectives.priorityOf(objective);
        String fairness = header(arrival, Director.LLMD_FAIRNESS_ID, Director.FAIRNESS_ID);
        return new InferenceRequest(arrival.requestId(), body.api(), model, targetModel, body.prompt(),
                body.cacheSalt(), body.stream(), priority,
                fairness == null || fairness.isEmpty() ? Director.DEFAULT_FAIRNESS_ID : fairness, arrival.headers(),
                body.bodyBytes(), body.tokenIds());
    }

    /**
     * The model to serve: the rewrite header when present (an explicit per-request choice, not counted as a rule's
     * decision), else the InferenceModelRewrite rules' choice (counted), else the model as asked.
     */
    private String targetModel(String incomingModel, String rewriteHeader) {
        if (rewriteHeader != null && !rewriteHeader.isEmpty()) {
            return rewriteHeader;
        }
        ModelRewriter.Choice fromRule = modelRewriter.rewrite(incomingModel);
        if (fromRule == null || fromRule.targetModel() == null || fromRule.targetModel().isEmpty()) {
            return incomingModel;
        }
        if (fromRule.rewriteName() != null && metrics != null) {
            metrics.modelRewritten(fromRule.rewriteName(), incomingModel, fromRule.targetModel());
        }
        return fromRule.targetModel();
    }

    /** The request's TTFT objective in milliseconds ({@code x-slo-ttft-ms}), or -1 when absent or not positive. */
    static long sloMillis(Arrival arrival) {
        String header = header(arrival, Director.LLMD_SLO_TTFT_MS, Director.SLO_TTFT_MS);
        if (header == null) {
            return -1;
        }
        try {
            long ms = Long.parseLong(header.trim());
            return ms > 0 ? ms : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
