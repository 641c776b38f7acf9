package io.epp4j.epp.telemetry;

import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The EPP's own request metrics, under GAIE's names (dashboards built for GAIE keep working). Help texts carry
 * GAIE's {@code [ALPHA]} prefix. Thread-safe.
 */
public final class EppMetrics {

    private static final double[] DURATION_BUCKETS = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5,
        2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600};
    private static final double[] REQUEST_SIZE_BUCKETS = powersOfTwo(64, 1L << 30);
    private static final double[] RESPONSE_SIZE_BUCKETS = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
        16384, 32778, 65536};
    private static final double[] WAIT_BUCKETS = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    private static final double[] TOKEN_BUCKETS = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
        32778, 65536, 131072, 262144, 524288, 1048576};

    private static final double[] NTPOT_BUCKETS = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};

    /** The stages of a request the EPP itself spends time in ({@code epp4j_request_stage_duration_seconds}). */
    public enum Stage {
        /** Parsing the request body. */
        PARSE("parse"),
        /** Candidates and admission. */
        ADMISSION("admission"),
        /** The scheduler: every profile's filters, scorers and picker. */
        SCHEDULING("scheduling"),
        /** Pre-request hooks. */
        PRE_REQUEST("pre_request"),
        /** The response-headers hooks. */
        RESPONSE_HEADERS("response_headers"),
        /** The response-body hooks, per chunk. */
        RESPONSE_BODY("response_body");

        private final String label;

        Stage(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final Counter requestTotal;
    private final Counter requestErrorTotal;
    private final Histogram requestDuration;
    private final Histogram requestSizes;
    private final Histogram responseSizes;
    private final Histogram inputTokens;
    private final Histogram outputTokens;
    private final Histogram promptCachedTokens;
    private final Gauge runningRequests;
    private final Counter modelRewriteDecisions;
    private final DistributionDataPoint decisionWait;
    private final Histogram normalizedTimePerOutputToken;
    private final Counter schedulerAttempts;
    private final DistributionDataPoint[] stages = new DistributionDataPoint[Stage.values().length];
    private final Counter limitRejections;
    private final PrometheusRegistry registry;

    public EppMetrics(PrometheusRegistry registry, String version) {
        this.registry = registry;
        requestTotal = Counter.builder().name("inference_objective_request_total")
                .help("[ALPHA] Counter of inference objective requests broken out for each model and target model.")
                .labelNames("model_name", "target_model_name", "priority").register(registry);
        requestErrorTotal = Counter.builder().name("inference_objective_request_error_total")
                .help("[ALPHA] Counter of inference objective requests errors broken out for each model and target "
                        + "model.")
                .labelNames("model_name", "target_model_name", "error_code").register(registry);
        requestDuration = histogram(registry, "inference_objective_request_duration_seconds",
                "Inference objective response latency distribution in seconds for each model and target model.",
                DURATION_BUCKETS);
        requestSizes = histogram(registry, "inference_objective_request_sizes",
                "Inference objective requests size distribution in bytes for each model and target model.",
                REQUEST_SIZE_BUCKETS);
        responseSizes = histogram(registry, "inference_objective_response_sizes",
                "Inference objective responses size distribution in bytes for each model and target model.",
                RESPONSE_SIZE_BUCKETS);
        inputTokens = histogram(registry, "inference_objective_input_tokens",
                "Inference objective input token count distribution for requests in each model.", TOKEN_BUCKETS);
        outputTokens = histogram(registry, "inference_objective_output_tokens",
                "Inference objective output token count distribution for requests in each model.", TOKEN_BUCKETS);
        promptCachedTokens = histogram(registry, "inference_objective_prompt_cached_tokens",
                "Inference objective prompt cached token count distribution for requests in each model.",
                TOKEN_BUCKETS);
        runningRequests = Gauge.builder().name("inference_objective_running_requests")
                .help("[ALPHA] Inference objective number of running requests in each model.")
                .labelNames("model_name").register(registry);
        modelRewriteDecisions = Counter.builder().name("inference_extension_model_rewrite_decisions_total")
                .help("[ALPHA] Total number of model rewrite decisions.")
                .labelNames("model_rewrite_name", "model_name", "target_model").register(registry);
        decisionWait = Histogram.builder().name("epp4j_request_decision_wait_seconds")
                .help("Time from the end of a request's body to the start of its scheduling, in seconds: how long "
                        + "the decision waited for a thread.")
                .classicOnly().classicUpperBounds(WAIT_BUCKETS).register(registry);
        normalizedTimePerOutputToken = histogram(registry,
                "inference_objective_normalized_time_per_output_token_seconds",
                "Inference objective latency per output token distribution in seconds for each model and target "
                        + "model.", NTPOT_BUCKETS);
        schedulerAttempts = Counter.builder().name("inference_extension_scheduler_attempts_total")
                .help("[ALPHA] Total number of scheduling attempts.")
                .labelNames("status", "target_model_name", "pod_name", "namespace", "port").register(registry);
        Histogram stageDuration = Histogram.builder().name("epp4j_request_stage_duration_seconds")
                .help("Time the EPP spent in each stage of a request, in seconds: parse, admission, scheduling, "
                        + "pre_request, response_headers, response_body (per chunk).")
                .classicOnly().classicUpperBounds(WAIT_BUCKETS).labelNames("stage").register(registry);
        for (Stage stage : Stage.values()) {
            stages[stage.ordinal()] = stageDuration.labelValues(stage.label());
        }
        limitRejections = Counter.builder().name("epp4j_limit_rejections_total")
                .help("Requests the EPP refused because a limit was reached: streams (--max-concurrent-streams), "
                        + "buffered_body_bytes (--max-buffered-body-bytes), buffered_response_body_bytes (a response "
                        + "passed on unheld, its usage not read: the same budget was spent), header_count, "
                        + "header_bytes (--max-request-header-count/-bytes), endpoint_in_flight "
                        + "(--max-endpoint-in-flight).")
                .labelNames("limit").register(registry);
        Info info = Info.builder().name("inference_extension_info")
                .help("[ALPHA] General information of the current build of Inference Extension.")
                .labelNames("commit", "build_ref").register(registry);
        info.addLabelValues(version, "epp4j-" + version);
    }

    private static Histogram histogram(PrometheusRegistry registry, String name, String help, double[] buckets) {
        return Histogram.builder().name(name).help("[ALPHA] " + help).classicOnly().classicUpperBounds(buckets)
                .labelNames("model_name", "target_model_name").register(registry);
    }

    private static double[] powersOfTwo(long from, long to) {
        int n = 0;
        for (long v = from; v <= to; v <<= 1) {
            n++;
        }
        double[] out = new double[n];
        long v = from;
        for (int i = 0; i < n; i++, v <<= 1) {
            out[i] = v;
        }
        return out;
    }

    /** A request was refused because {@code limit} was reached (a label of epp4j_limit_rejections_total). */
    public void limitRejected(String limit) {
        limitRejections.labelValues(limit).inc();
    }

    /**
     * Publishes the open ext_proc streams, and the request-body bytes, held response-body bytes and answer bytes not
     * yet taken by the gateway buffered across them (together counted against {@code --max-buffered-body-bytes}), as
     * gauges.
     */
    public void observeStreamLimits(IntSupplier openStreams, LongSupplier requestBodyBytes,
                                    LongSupplier responseBodyBytes, LongSupplier unsentAnswerBytes) {
        GaugeWithCallback.builder().name("epp4j_ext_proc_streams")
                .help("ext_proc streams open now (one per request passing through the gateway).")
                .callback(cb -> cb.call(openStreams.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("epp4j_buffered_request_body_bytes")
                .help("Request-body bytes the EPP holds now across streams (buffer capacity, counted against "
                        + "--max-buffered-body-bytes).")
                .callback(cb -> cb.call(requestBodyBytes.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("epp4j_buffered_response_body_bytes")
                .help("Response-body bytes the EPP holds now across streams (non-streamed responses held to their "
                        + "end; buffer capacity, counted against --max-buffered-body-bytes).")
                .callback(cb -> cb.call(responseBodyBytes.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("epp4j_buffered_answer_bytes")
                .help("Answer bytes sent to gateways that their connections have not taken yet (a gateway reading "
                        + "slowly; counted against --max-buffered-body-bytes).")
                .callback(cb -> cb.call(unsentAnswerBytes.getAsLong())).register(registry);
    }

    /** A decision started {@code seconds} after its request's body was complete. */
    public void decisionWaited(double seconds) {
        decisionWait.observe(seconds);
    }

    /** The EPP spent {@code nanos} in one stage of a request. */
    public void stage(Stage stage, long nanos) {
        stages[stage.ordinal()].observe(Math.max(0, nanos) / 1e9);
    }

    /**
     * The scheduler ran for an admitted request: it picked {@code endpoint} (success), or found nothing or failed
     * ({@code endpoint} null).
     */
    public void schedulingAttempted(boolean success, String targetModel, EndpointInfo endpoint) {
        if (success) {
            schedulerAttempts.labelValues("success", targetModel,
                    endpoint.podName().isEmpty() ? endpoint.name() : endpoint.podName(), endpoint.namespace(),
                    Integer.toString(endpoint.port())).inc();
        } else {
            schedulerAttempts.labelValues("failure", targetModel, "", "", "").inc();
        }
    }

    /** A request was dispatched to a model server. */
    public void requestDispatched(String model, String targetModel, int priority, long bodyBytes) {
        requestTotal.labelValues(model, targetModel, Integer.toString(priority)).inc();
        requestSizes.labelValues(model, targetModel).observe(bodyBytes);
        runningRequests.labelValues(model).inc();
    }

    /** An InferenceModelRewrite rule chose the model a request is served as (GAIE counts each such choice). */
    public void modelRewritten(String rewriteName, String model, String targetModel) {
        modelRewriteDecisions.labelValues(rewriteName, model, targetModel).inc();
    }

    /** A request the EPP answered with an error (error code as in GAIE: BadRequest, ResourceExhausted, ...). */
    public void requestFailed(String model, String targetModel, String errorCode) {
        requestErrorTotal.labelValues(model, targetModel, errorCode).inc();
    }

    /** A dispatched request ended; usage may be {@link ResponseUsage#NONE}. */
    public void requestCompleted(String model, String targetModel, double seconds, long responseBytes,
                                 ResponseUsage usage, boolean responseCompleted) {
        runningRequests.labelValues(model).dec();
        if (!responseCompleted) {
            return;
        }
        requestDuration.labelValues(model, targetModel).observe(seconds);
        responseSizes.labelValues(model, targetModel).observe(responseBytes);
        if (usage.promptTokens() >= 0) {
            inputTokens.labelValues(model, targetModel).observe(usage.promptTokens());
        }
        if (usage.completionTokens() >= 0) {
            outputTokens.labelValues(model, targetModel).observe(usage.completionTokens());
        }
        if (usage.completionTokens() > 0) {
            normalizedTimePerOutputToken.labelValues(model, targetModel).observe(seconds / usage.completionTokens());
        }
        if (usage.cachedTokens() >= 0) {
            promptCachedTokens.labelValues(model, targetModel).observe(usage.cachedTokens());
        }
    }
}
