package io.epp4j.epp.telemetry;

import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EppMetricsTest {

    private static String text(PrometheusRegistry registry) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void normalizedTimePerOutputTokenIsTheRequestsDurationOverItsOutputTokens() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        EppMetrics m = new EppMetrics(registry, "test");
        m.requestDispatched("m", "t", 0, 100);
        m.requestCompleted("m", "t", 2.0, 10, new ResponseUsage(5, 40, -1, 45), true);
        m.requestDispatched("m", "t", 0, 100);
        m.requestCompleted("m", "t", 1.0, 10, new ResponseUsage(5, 0, -1, 5), true); // no output: not counted
        String text = text(registry);
        assertTrue(text.contains("inference_objective_normalized_time_per_output_token_seconds_sum{model_name=\"m\","
                + "target_model_name=\"t\"} 0.05"), text);
        assertTrue(text.contains("inference_objective_normalized_time_per_output_token_seconds_count{model_name=\"m\","
                + "target_model_name=\"t\"} 1"), text);
    }

    @Test
    void schedulerAttemptsCountSuccessesByPodAndFailuresWithoutOne() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        EppMetrics m = new EppMetrics(registry, "test");
        m.schedulingAttempted(true, "llama", new EndpointInfo("vllm-0-rank-1", "ns", "vllm-0", "10.0.0.1", 8001,
                Map.of()));
        m.schedulingAttempted(true, "llama", EndpointInfo.ofAddress("10.0.0.2", 8000));
        m.schedulingAttempted(false, "llama", null);
        String text = text(registry);
        assertTrue(text.contains("inference_extension_scheduler_attempts_total{namespace=\"ns\",pod_name=\"vllm-0\","
                + "port=\"8001\",status=\"success\",target_model_name=\"llama\"} 1.0"), text);
        assertTrue(text.contains("inference_extension_scheduler_attempts_total{namespace=\"\","
                + "pod_name=\"10.0.0.2:8000\",port=\"8000\",status=\"success\",target_model_name=\"llama\"} 1.0"), text);
        assertTrue(text.contains("inference_extension_scheduler_attempts_total{namespace=\"\",pod_name=\"\",port=\"\","
                + "status=\"failure\",target_model_name=\"llama\"} 1.0"), text);
    }

    @Test
    void stagesAreObservedUnderTheirOwnLabel() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        EppMetrics m = new EppMetrics(registry, "test");
        m.stage(EppMetrics.Stage.SCHEDULING, 30_000);
        String text = text(registry);
        assertTrue(text.contains("epp4j_request_stage_duration_seconds_count{stage=\"scheduling\"} 1"), text);
        assertTrue(text.contains("epp4j_request_stage_duration_seconds_sum{stage=\"scheduling\"} 3.0E-5"), text);
        assertFalse(text.contains("epp4j_request_stage_duration_seconds_count{stage=\"parse\"} 1"), text);
    }
}
