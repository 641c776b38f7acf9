package io.epp4j.epp.scrape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which series carry a model-server engine's metrics (one entry of GAIE's {@code core-metrics-extractor}
 * {@code engineConfigs}); immutable. An empty spec disables that metric.
 *
 * @param name engine type, matched against the pod label (e.g. {@code vllm}); {@code default} is reserved
 * @param queuedRequestsSpec selector of the waiting-queue gauge
 * @param runningRequestsSpec selector of the running-requests gauge
 * @param kvUsageSpec selector of the KV-cache utilisation gauge (0..1)
 * @param loraSpec selector of the LoRA info gauge ({@code vllm:lora_requests_info} semantics)
 * @param cacheInfoSpec selector of an info gauge whose labels carry block size and block count
 * @param cacheBlockSizeLabelName label of {@code cacheInfoSpec} holding the block size (tokens per block)
 * @param cacheNumBlocksLabelName label of {@code cacheInfoSpec} holding the number of KV blocks
 * @param cacheBlockSizeSpec selector of a block-size gauge (engines without an info metric)
 * @param cacheNumBlocksSpec selector of a block-count gauge
 * @param prefixCacheQueriesSpec epp4j extension: counter of prefix-cache queries (tokens)
 * @param prefixCacheHitsSpec epp4j extension: counter of prefix-cache hits (tokens)
 * @param customMetrics selectors of scalar metrics published as endpoint attributes, by attribute key
 *     ({@code customMetrics[].attributeKey} → {@code metricSpec})
 */
public record EngineConfig(
        String name,
        String queuedRequestsSpec,
        String runningRequestsSpec,
        String kvUsageSpec,
        String loraSpec,
        String cacheInfoSpec,
        String cacheBlockSizeLabelName,
        String cacheNumBlocksLabelName,
        String cacheBlockSizeSpec,
        String cacheNumBlocksSpec,
        String prefixCacheQueriesSpec,
        String prefixCacheHitsSpec,
        Map<String, String> customMetrics) {

    public static final String VLLM = "vllm";
    public static final String SGLANG = "sglang";
    public static final String TRTLLM_SERVE = "trtllm-serve";
    public static final String TRITON_TENSORRT_LLM = "triton-tensorrt-llm";
    /** Reserved by GAIE for the fallback mapping; not allowed as an engine name. */
    public static final String RESERVED_NAME = "default";

    public EngineConfig {
        name = nz(name);
        queuedRequestsSpec = nz(queuedRequestsSpec);
        runningRequestsSpec = nz(runningRequestsSpec);
        kvUsageSpec = nz(kvUsageSpec);
        loraSpec = nz(loraSpec);
        cacheInfoSpec = nz(cacheInfoSpec);
        cacheBlockSizeLabelName = nz(cacheBlockSizeLabelName);
        cacheNumBlocksLabelName = nz(cacheNumBlocksLabelName);
        cacheBlockSizeSpec = nz(cacheBlockSizeSpec);
        cacheNumBlocksSpec = nz(cacheNumBlocksSpec);
        prefixCacheQueriesSpec = nz(prefixCacheQueriesSpec);
        prefixCacheHitsSpec = nz(prefixCacheHitsSpec);
        customMetrics = customMetrics == null ? Map.of() : Map.copyOf(customMetrics);
    }

    /** An engine without custom metrics. */
    public EngineConfig(String name, String queuedRequestsSpec, String runningRequestsSpec, String kvUsageSpec,
                        String loraSpec, String cacheInfoSpec, String cacheBlockSizeLabelName,
                        String cacheNumBlocksLabelName, String cacheBlockSizeSpec, String cacheNumBlocksSpec,
                        String prefixCacheQueriesSpec, String prefixCacheHitsSpec) {
        this(name, queuedRequestsSpec, runningRequestsSpec, kvUsageSpec, loraSpec, cacheInfoSpec,
                cacheBlockSizeLabelName, cacheNumBlocksLabelName, cacheBlockSizeSpec, cacheNumBlocksSpec,
                prefixCacheQueriesSpec, prefixCacheHitsSpec, Map.of());
    }

    private static String nz(String s) {
        return s == null ? "" : s.strip();
    }

    /** GAIE's built-in engines (§4.2 of the compatibility baseline), keyed by name, in a stable order. */
    public static Map<String, EngineConfig> builtIns() {
        Map<String, EngineConfig> m = new LinkedHashMap<>();
        for (EngineConfig c : List.of(
                new EngineConfig(VLLM, "vllm:num_requests_waiting", "vllm:num_requests_running",
                        "vllm:kv_cache_usage_perc", "vllm:lora_requests_info", "vllm:cache_config_info",
                        "block_size", "num_gpu_blocks", "", "",
                        "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"),
                new EngineConfig(SGLANG, "sglang:num_queue_reqs", "sglang:num_running_reqs",
                        "sglang:token_usage", "", "sglang:cache_config_info",
                        "page_size", "num_pages", "", "", "", ""),
                new EngineConfig(TRTLLM_SERVE, "trtllm_num_requests_waiting", "trtllm_num_requests_running",
                        "trtllm_kv_cache_utilization", "", "", "", "",
                        "trtllm_kv_cache_tokens_per_block", "trtllm_kv_cache_max_blocks", "", ""),
                new EngineConfig(TRITON_TENSORRT_LLM,
                        "nv_trt_llm_request_metrics{request_type=\"waiting\"}",
                        "nv_trt_llm_request_metrics{request_type=\"scheduled\"}",
                        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"fraction\"}", "", "", "", "",
                        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"tokens_per\"}",
                        "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\"}", "", ""))) {
            m.put(c.name(), c);
        }
        return m;
    }
}
