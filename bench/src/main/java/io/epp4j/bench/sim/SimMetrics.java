package io.epp4j.bench.sim;

import java.util.List;

/**
 * The per-server latency histograms and the vLLM-V1-shaped {@code /metrics} exposition (names, types, HELP
 * texts, labels {@code engine}/{@code model_name}, {@code _total} counters with {@code _created} companions,
 * vLLM's bucket bounds, the {@code lora_requests_info} and {@code cache_config_info} info gauges).
 */
final class SimMetrics {

    private final SimConfig config;
    private final double createdEpochSeconds;
    final Histogram ttft = new Histogram(Histogram.TTFT_BUCKETS);
    final Histogram itl = new Histogram(Histogram.ITL_BUCKETS);
    final Histogram tpot = new Histogram(Histogram.ITL_BUCKETS);
    final Histogram e2e = new Histogram(Histogram.REQUEST_BUCKETS);
    final Histogram queue = new Histogram(Histogram.REQUEST_BUCKETS);
    final Histogram prefill = new Histogram(Histogram.REQUEST_BUCKETS);
    final Histogram decode = new Histogram(Histogram.REQUEST_BUCKETS);
    final Histogram promptTokens;
    final Histogram generationTokens;
    final Histogram maxTokens;
    private volatile String lastLoraKey = "";
    private volatile double lastLoraTimestamp;
    private final java.util.Map<String, Double> loraSeries = new java.util.LinkedHashMap<>();

    SimMetrics(SimConfig config, double createdEpochSeconds) {
        this.config = config;
        this.createdEpochSeconds = createdEpochSeconds;
        double[] tokens = Histogram.oneTwoFive(config.maxModelLen());
        this.promptTokens = new Histogram(tokens);
        this.generationTokens = new Histogram(tokens);
        this.maxTokens = new Histogram(tokens);
    }

    String exposition(EngineCore.Snapshot s, double nowEpochSeconds) {
        String labels = "engine=\"0\",model_name=\"" + escape(config.model()) + "\"";
        StringBuilder out = new StringBuilder(16384);
        gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.", labels, s.running());
        gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, s.waiting());
        gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels, s.kvUsage());
        counter(out, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
                labels, s.prefixQueries());
        counter(out, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", labels,
                s.prefixHits());
        counter(out, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", labels,
                s.preemptions());
        counter(out, "vllm:prompt_tokens", "Number of prefill tokens processed.", labels, s.promptTokens());
        counter(out, "vllm:generation_tokens", "Number of generation tokens processed.", labels,
                s.generationTokens());
        String help = "Count of successfully processed requests.";
        out.append("# HELP vllm:request_success_total ").append(help).append('\n');
        out.append("# TYPE vllm:request_success_total counter\n");
        String[][] reasons = {{"abort", Long.toString(s.finishedAbort())}, {"length", Long.toString(s.finishedLength())},
            {"stop", Long.toString(s.finishedStop())}};
        for (String[] r : reasons) {
            out.append("vllm:request_success_total{engine=\"0\",finished_reason=\"").append(r[0])
                    .append("\",model_name=\"").append(escape(config.model())).append("\"} ").append(r[1]).append(".0\n");
        }
        out.append("# HELP vllm:request_success_created ").append(help).append('\n');
        out.append("# TYPE vllm:request_success_created gauge\n");
        for (String[] r : reasons) {
            out.append("vllm:request_success_created{engine=\"0\",finished_reason=\"").append(r[0])
                    .append("\",model_name=\"").append(escape(config.model())).append("\"} ")
                    .append(Histogram.format(createdEpochSeconds)).append('\n');
        }
        histogram(out, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", labels, ttft);
        histogram(out, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", labels, itl);
        histogram(out, "vllm:time_per_output_token_seconds",
                "Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
                labels, itl);
        histogram(out, "vllm:request_time_per_output_token_seconds",
                "Histogram of time_per_output_token_seconds per request.", labels, tpot);
        histogram(out, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", labels, e2e);
        histogram(out, "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
                labels, queue);
        histogram(out, "vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
                labels, prefill);
        histogram(out, "vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
                labels, decode);
        histogram(out, "vllm:request_prompt_tokens", "Number of prefill tokens processed.", labels, promptTokens);
        histogram(out, "vllm:request_generation_tokens", "Number of generation tokens processed.", labels,
                generationTokens);
        histogram(out, "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", labels,
                maxTokens);
        if (!config.loras().isEmpty()) {
            writeLora(out, s, nowEpochSeconds);
        }
        out.append("# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n");
        out.append("# TYPE vllm:cache_config_info gauge\n");
        out.append("vllm:cache_config_info{block_size=\"").append(config.blockSize())
                .append("\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",engine=\"0\",gpu_memory_utilization=\"0.9\",")
                .append("kv_cache_size_tokens=\"").append((long) config.kvBlocks() * config.blockSize())
                .append("\",num_cpu_blocks=\"None\",num_gpu_blocks=\"").append(config.kvBlocks())
                .append("\",prefix_caching_hash_algo=\"sha256\",sliding_window=\"None\"} 1.0\n");
        return out.toString();
    }

    /** vLLM sets the series of the current adapter lists to "now", and old permutations keep their time. */
    private synchronized void writeLora(StringBuilder out, EngineCore.Snapshot s, double now) {
        String key = "max_lora=\"" + config.maxLoras() + "\",running_lora_adapters=\""
                + String.join(",", s.runningAdapters()) + "\",waiting_lora_adapters=\""
                + String.join(",", s.waitingAdapters()) + "\"";
        loraSeries.put(key, now);
        out.append("# HELP vllm:lora_requests_info Running stats on lora requests.\n");
        out.append("# TYPE vllm:lora_requests_info gauge\n");
        for (var e : loraSeries.entrySet()) {
            out.append("vllm:lora_requests_info{").append(e.getKey()).append("} ")
                    .append(String.format(java.util.Locale.ROOT, "%.10e", e.getValue())).append('\n');
        }
    }

    private static void gauge(StringBuilder out, String name, String help, String labels, double value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        out.append(name).append('{').append(labels).append("} ").append(Histogram.format(value)).append('\n');
    }

    private void counter(StringBuilder out, String base, String help, String labels, long value) {
        out.append("# HELP ").append(base).append("_total ").append(help).append('\n');
        out.append("# TYPE ").append(base).append("_total counter\n");
        out.append(base).append("_total{").append(labels).append("} ").append(value).append(".0\n");
        out.append("# HELP ").append(base).append("_created ").append(help).append('\n');
        out.append("# TYPE ").append(base).append("_created gauge\n");
        out.append(base).append("_created{").append(labels).append("} ")
                .append(Histogram.format(createdEpochSeconds)).append('\n');
    }

    private void histogram(StringBuilder out, String name, String help, String labels, Histogram h) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" histogram\n");
        h.write(out, name, labels);
        out.append("# HELP ").append(name).append("_created ").append(help).append('\n');
        out.append("# TYPE ").append(name).append("_created gauge\n");
        out.append(name).append("_created{").append(labels).append("} ")
                .append(Histogram.format(createdEpochSeconds)).append('\n');
    }

    static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

}
