package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Json;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A simulated pod's P/D side, as llm-d's decode-pod sidecar (nixlv2) and vLLM's NixlConnector behave: given
 * {@code x-prefiller-host-port}, the request goes first to that prefill pod with {@code kv_transfer_params
 * .do_remote_decode=true}, {@code stream=false}, no {@code stream_options} and its token limits forced to 1; the
 * prefill pod answers with the {@code kv_transfer_params} the decode side pulls the KV with. Where llm-d's sidecar
 * passes a failed prefill through to the client, this one serves the request decode-only (and counts why), which
 * is what the EPP's decode-only fallback means for a user. Counts go out as
 * {@code epp4j_sim_pd_requests_total{role,outcome}}. Thread-safe.
 */
final class Sidecar {

    static final String PREFILLER = "x-prefiller-host-port";

    /** What the prefill leg gave back: the decode leg's parameters and the prefill pod's cached tokens. */
    record Prefilled(Map<String, Object> kvTransferParams, int cachedTokens) {
    }

    /** Why a request was served decode-only although a prefill pod was named. */
    static final class FallbackException extends Exception {
        final String outcome;

        FallbackException(String outcome, String message) {
            super(message);
            this.outcome = outcome;
        }
    }

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1).build();
    private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
    private volatile String role = "both";
    private volatile KvTransfer transfer = KvTransfer.DEFAULT;

    void configure(String role, KvTransfer transfer) {
        this.role = role;
        this.transfer = transfer;
    }

    String role() {
        return role;
    }

    KvTransfer transfer() {
        return transfer;
    }

    void count(String outcome) {
        counts.computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
    }

    /** Requests so far by P/D outcome (the {@code outcome} label of {@link #exposition()}). */
    Map<String, Long> counts() {
        Map<String, Long> out = new java.util.TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Whether the body is a prefill leg (a sidecar asked this pod to prefill and keep the KV). */
    static boolean isPrefillLeg(Map<String, Object> body) {
        return body.get("kv_transfer_params") instanceof Map<?, ?> kv && Boolean.TRUE.equals(kv.get("do_remote_decode"));
    }

    /**
     * The prefill leg: POSTs the request, changed as llm-d's sidecar changes it, to {@code prefiller} and waits
     * up to the prefill timeout ({@code timeScale}: simulated over real time).
     */
    Prefilled prefill(String prefiller, String path, Map<String, Object> request, double timeScale)
            throws FallbackException, InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>(request);
        Map<String, Object> kv = new LinkedHashMap<>();
        kv.put("do_remote_decode", true);
        kv.put("do_remote_prefill", false);
        kv.put("remote_engine_id", null);
        kv.put("remote_block_ids", null);
        kv.put("remote_host", null);
        kv.put("remote_port", null);
        body.put("kv_transfer_params", kv);
        body.put("stream", false);
        body.remove("stream_options");
        body.put("max_tokens", 1);
        body.put("max_completion_tokens", 1);
        body.put("min_tokens", 1);
        URI uri;
        try {
            uri = URI.create("http://" + prefiller + path);
            if (uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("no host:port");
            }
        } catch (IllegalArgumentException e) {
            throw new FallbackException("fallback-prefill-unreachable", "bad prefiller '" + prefiller + "'");
        }
        long timeoutMillis = Math.max(1, Math.round(transfer.prefillTimeoutMs() / timeScale));
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(timeoutMillis))
                .header("Content-Type", "application/json").header("X-Request-Id", UUID.randomUUID().toString())
                .POST(HttpRequest.BodyPublishers.ofString(toJson(body))).build();
        HttpResponse<String> response;
        try {
            response = client.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new FallbackException("fallback-prefill-timeout", "prefill pod " + prefiller + " did not answer in "
                    + timeoutMillis + " ms");
        } catch (ConnectException e) {
            throw new FallbackException("fallback-prefill-unreachable", "prefill pod " + prefiller + ": " + e);
        } catch (IOException e) {
            throw new FallbackException("fallback-prefill-unreachable", "prefill pod " + prefiller + ": " + e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new FallbackException("fallback-prefill-error", "prefill pod " + prefiller + " answered "
                    + response.statusCode());
        }
        Map<String, Object> answer;
        try {
            answer = Json.parseObject(response.body());
        } catch (RuntimeException e) {
            throw new FallbackException("fallback-prefill-error", "prefill pod " + prefiller + ": bad JSON");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> params = answer.get("kv_transfer_params") instanceof Map<?, ?> m
                ? (Map<String, Object>) m : Map.of();
        int cached = 0;
        if (answer.get("usage") instanceof Map<?, ?> usage
                && usage.get("prompt_tokens_details") instanceof Map<?, ?> details
                && details.get("cached_tokens") instanceof Number n) {
            cached = n.intValue();
        }
        return new Prefilled(params, cached);
    }

    /** The prefill pod's answer to a prefill leg: what the decode pod pulls the blocks with. */
    static String kvTransferParams(String podName, String requestId, String host, int blocks) {
        StringBuilder ids = new StringBuilder("[");
        for (int i = 0; i < blocks; i++) {
            ids.append(i == 0 ? "" : ",").append(i);
        }
        ids.append(']');
        return "{\"do_remote_prefill\":true,\"do_remote_decode\":false,\"remote_block_ids\":" + ids
                + ",\"remote_engine_id\":" + Json.quote(podName) + ",\"remote_request_id\":" + Json.quote(requestId)
                + ",\"remote_host\":" + Json.quote(host) + ",\"remote_port\":5600,\"tp_size\":1}";
    }

    /** {@code epp4j_sim_pd_requests_total} lines for {@code /metrics}. */
    String exposition() {
        StringBuilder sb = new StringBuilder("# HELP epp4j_sim_pd_requests_total Requests by P/D outcome on this"
                + " simulated pod: prefill-leg (served as a prefill pod), prefill-decode (decoded after a remote"
                + " prefill), decode-only, fallback-* (a prefill pod was named but the request was served"
                + " decode-only)\n# TYPE epp4j_sim_pd_requests_total counter\n");
        for (String outcome : List.copyOf(new java.util.TreeSet<>(counts.keySet()))) {
            sb.append("epp4j_sim_pd_requests_total{role=\"").append(role).append("\",outcome=\"").append(outcome)
                    .append("\"} ").append(counts.get(outcome).get()).append('\n');
        }
        return sb.toString();
    }

    /** JSON of plain values (maps, lists, strings, numbers, booleans, null). */
    static String toJson(Object v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ",");
                first = false;
                Json.appendQuoted(sb, String.valueOf(e.getKey()));
                sb.append(':');
                write(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                sb.append(i == 0 ? "" : ",");
                write(sb, l.get(i));
            }
            sb.append(']');
        } else if (v instanceof String s) {
            Json.appendQuoted(sb, s);
        } else if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
            sb.append(d.longValue());
        } else {
            sb.append(v);
        }
    }
}
