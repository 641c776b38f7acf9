package io.epp4j.e2e;

import io.epp4j.bench.stack.LocalStack;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The gateway reaches EPPs that serve their default self-signed TLS, without verifying it (as agentgateway does). */
class TlsStackE2ETest {

    @Test
    void routesThroughEppsServingSelfSignedTls() throws Exception {
        try (LocalStack stack = LocalStack.start(0, 1, true, true, 11, new PrintStream(new ByteArrayOutputStream()))) {
            List<LocalStack.DemoResult> r = stack.seedRequests();
            assertEquals(List.of(200, 200, 404), r.stream().map(LocalStack.DemoResult::status).toList());
            assertEquals("vllm-qwen3-0-6b-0", r.get(0).pod());
            assertEquals("vllm-tinyllama-1-1b-0", r.get(1).pod());
        }
    }
}
