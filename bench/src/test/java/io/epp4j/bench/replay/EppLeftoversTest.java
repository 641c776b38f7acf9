package io.epp4j.bench.replay;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EppLeftoversTest {

    private static final String METRICS = """
            # HELP inference_extension_flow_control_queue_size [ALPHA] Current number of requests in the queue.
            # TYPE inference_extension_flow_control_queue_size gauge
            inference_extension_flow_control_queue_size{fairness_id="a",priority="0"} 2.0
            inference_extension_flow_control_queue_size{fairness_id="b",priority="-1"} 3.0
            inference_extension_flow_control_queue_size_extra 100.0
            inference_objective_running_requests{model_name="m"} 0.0
            epp4j_ext_proc_streams 1.0
            """;

    @Test
    void sumsEverySeriesOfAGaugeAndNoOtherMetricThatSharesItsPrefix() {
        assertEquals(5, EppLeftovers.sum(METRICS, "inference_extension_flow_control_queue_size"));
        assertEquals(0, EppLeftovers.sum(METRICS, "inference_objective_running_requests"));
        assertEquals(1, EppLeftovers.sum(METRICS, "epp4j_ext_proc_streams"));
        assertEquals(0, EppLeftovers.sum(METRICS, "absent_metric"));
    }
}
