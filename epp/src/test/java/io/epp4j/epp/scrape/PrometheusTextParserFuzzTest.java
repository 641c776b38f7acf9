package io.epp4j.epp.scrape;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.epp4j.spi.EndpointMetrics;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the parser and every built-in engine mapping. Without {@code JAZZER_FUZZ=1} it replays the
 * committed seeds (regression mode, part of {@code mvn verify}); with it, it fuzzes.
 */
class PrometheusTextParserFuzzTest {

    private static final Map<String, EngineMapping> MAPPINGS = new HashMap<>();

    static {
        EngineConfig.builtIns().forEach((name, c) -> MAPPINGS.put(name, EngineMapping.compile(c)));
    }

    @FuzzTest(maxDuration = "60s")
    void anyBodyParsesWithoutThrowing(byte[] body) {
        for (EngineMapping mapping : MAPPINGS.values()) {
            PrometheusTextParser parser = mapping.parser();
            Extraction ex = parser.newExtraction();
            parser.parse(body, body.length, ex);
            assertTrue(ex.skippedLines() >= 0);
            // A truncated length must also be safe.
            parser.parse(body, body.length / 2, ex);
            EndpointMetrics m = mapping.toMetrics(ex, EndpointMetrics.UNKNOWN, new PrefixCacheRate(), 1L);
            if (m != null) {
                double rate = m.prefixCacheHitRate();
                assertTrue(Double.isNaN(rate) || (rate >= 0 && rate <= 1), "hit rate in range");
                assertTrue(m.waitingQueueSize() >= -1 && m.runningRequests() >= -1);
            }
        }
    }
}
