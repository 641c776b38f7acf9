package io.epp4j.epp.scrape;

import io.epp4j.spi.EndpointMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineMappingTest {

    static byte[] fixture(String name) {
        try (InputStream in = EngineMappingTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static EndpointMetrics scrape(String engine, byte[] body, EndpointMetrics previous, PrefixCacheRate rate) {
        EngineMapping m = EngineMapping.compile(EngineConfig.builtIns().get(engine));
        Extraction ex = m.parser().parse(body, body.length, m.parser().newExtraction());
        return m.toMetrics(ex, previous, rate, 1234L);
    }

    static Stream<Arguments> engines() {
        return Stream.of(
                // engine, fixture, waiting, running, kv, block size, blocks
                Arguments.of("vllm", "vllm.txt", 0, 7, 0.18342513, 16, 23165L),
                Arguments.of("sglang", "sglang.txt", 3, 12, 0.42, 1, 114793L),
                Arguments.of("trtllm-serve", "trtllm-serve.txt", 2, 5, 0.275, 32, 8192L),
                Arguments.of("triton-tensorrt-llm", "triton-tensorrt-llm.txt", 4, 9, 0.5125, 64, 4096L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void readsEachEnginesExposition(String engine, String fixture, int waiting, int running, double kv, int block,
                                    long blocks) {
        EndpointMetrics m = scrape(engine, fixture(fixture), EndpointMetrics.UNKNOWN, new PrefixCacheRate());
        assertEquals(waiting, m.waitingQueueSize());
        assertEquals(running, m.runningRequests());
        assertEquals(kv, m.kvCacheUsage(), 1e-12);
        assertEquals(block, m.cacheBlockSize());
        assertEquals(blocks, m.cacheNumBlocks());
        assertEquals(1234L, m.scrapedAtMillis());
    }

    @Test
    void vllmLoraInfoTakesTheSeriesWithTheLargestValue() {
        EndpointMetrics m = scrape("vllm", fixture("vllm.txt"), EndpointMetrics.UNKNOWN, new PrefixCacheRate());
        assertEquals(Set.of("sql-lora", "chat-lora"), m.activeAdapters());
        assertEquals(Set.of("tweet-lora"), m.waitingAdapters());
        assertEquals(2, m.maxActiveAdapters());
    }

    @Test
    void loraAdapterListsAreTrimmedAndEmptyEntriesDropped() {
        byte[] body = ("vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\" a , b,,\","
                + "waiting_lora_adapters=\"\"} 1e9\n").getBytes(StandardCharsets.UTF_8);
        EndpointMetrics m = scrape("vllm", body, EndpointMetrics.UNKNOWN, new PrefixCacheRate());
        assertEquals(Set.of("a", "b"), m.activeAdapters());
        assertEquals(Set.of(), m.waitingAdapters());
        assertEquals(4, m.maxActiveAdapters());
    }

    @Test
    void prefixCacheHitRateIsDeltaHitsOverDeltaQueries() {
        PrefixCacheRate rate = new PrefixCacheRate();
        EndpointMetrics first = scrape("vllm", counters(1000, 400), EndpointMetrics.UNKNOWN, rate);
        assertTrue(Double.isNaN(first.prefixCacheHitRate()), "NaN until two scrapes");
        EndpointMetrics second = scrape("vllm", counters(1200, 550), first, rate);
        assertEquals(0.75, second.prefixCacheHitRate(), 1e-12);
        EndpointMetrics idle = scrape("vllm", counters(1200, 550), second, rate);
        assertEquals(0.75, idle.prefixCacheHitRate(), 1e-12, "no queries: previous rate kept");
        EndpointMetrics restarted = scrape("vllm", counters(100, 10), idle, rate);
        assertEquals(0.1, restarted.prefixCacheHitRate(), 1e-12, "counter reset: new value is the increase");
    }

    private static byte[] counters(double queries, double hits) {
        return ("vllm:num_requests_waiting 0\nvllm:prefix_cache_queries_total{engine=\"0\"} " + queries
                + "\nvllm:prefix_cache_hits_total{engine=\"0\"} " + hits + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void missingSeriesKeepTheirPreviousValues() {
        EndpointMetrics previous = scrape("vllm", fixture("vllm.txt"), EndpointMetrics.UNKNOWN, new PrefixCacheRate());
        byte[] partial = "vllm:num_requests_waiting{engine=\"0\"} 9\n".getBytes(StandardCharsets.UTF_8);
        EndpointMetrics m = scrape("vllm", partial, previous, new PrefixCacheRate());
        assertEquals(9, m.waitingQueueSize());
        assertEquals(7, m.runningRequests());
        assertEquals(Set.of("sql-lora", "chat-lora"), m.activeAdapters());
    }

    @Test
    void bodyWithoutAnyConfiguredSeriesIsAFailedScrape() {
        assertNull(scrape("vllm", fixture("sglang.txt"), EndpointMetrics.UNKNOWN, new PrefixCacheRate()));
        assertNull(scrape("vllm", new byte[0], EndpointMetrics.UNKNOWN, new PrefixCacheRate()));
    }

    @Test
    void nanAndNegativeCountsAreUnknown() {
        byte[] body = "vllm:num_requests_waiting NaN\nvllm:num_requests_running -3\n".getBytes(StandardCharsets.UTF_8);
        EndpointMetrics m = scrape("vllm", body, EndpointMetrics.UNKNOWN, new PrefixCacheRate());
        assertEquals(-1, m.waitingQueueSize());
        assertEquals(-1, m.runningRequests());
    }

    @Test
    void customMetricsBecomeEndpointAttributesAndKeepTheirLastValue() {
        ScrapeConfig c = ScrapeConfig.fromParameters(null, java.util.Map.of("engineConfigs", java.util.List.of(
                java.util.Map.of("name", "my-engine", "queuedRequestsSpec", "q",
                        "customMetrics", java.util.List.of(
                                java.util.Map.of("attributeKey", "custom.queue_depth",
                                        "metricSpec", "custom_queue_depth{tier=\"gold\"}"),
                                java.util.Map.of("attributeKey", "gpu.temp", "metricSpec", "gpu_temp"))))), null);
        EngineMapping m = EngineMapping.compile(c.engines().get("my-engine"));
        byte[] body = ("q 1\ncustom_queue_depth{tier=\"silver\"} 99\ncustom_queue_depth{tier=\"gold\"} 12\n"
                + "gpu_temp 71.5\n").getBytes(StandardCharsets.UTF_8);
        EndpointMetrics first = m.toMetrics(m.parser().parse(body, body.length, m.parser().newExtraction()),
                EndpointMetrics.UNKNOWN, new PrefixCacheRate(), 1L);
        assertEquals(java.util.Map.of("custom.queue_depth", 12.0, "gpu.temp", 71.5), first.attributes());
        byte[] partial = "gpu_temp 80\n".getBytes(StandardCharsets.UTF_8);
        EndpointMetrics next = m.toMetrics(m.parser().parse(partial, partial.length, m.parser().newExtraction()),
                first, new PrefixCacheRate(), 2L);
        assertEquals(java.util.Map.of("custom.queue_depth", 12.0, "gpu.temp", 80.0), next.attributes());
        assertEquals(1, next.waitingQueueSize());
    }
}
