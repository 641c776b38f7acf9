package io.epp4j.bench.sim;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.epp4j.bench.cli.Json;
import io.epp4j.bench.cli.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One simulated vLLM server on a loopback port: the OpenAI endpoints ({@code /v1/chat/completions},
 * {@code /v1/completions}, {@code /v1/models}, JSON and SSE), vLLM's {@code /metrics}, {@code /health}.
 *
 * <p>Each request thread queues in the {@link SimEngine}, then sleeps the modelled prefill and decode times
 * (divided by {@link SimConfig#timeScale()}). Every response carries {@code x-inference-pod},
 * {@code x-inference-port} and {@code x-inference-namespace} so callers can see who served them.
 */
public final class SimServer implements AutoCloseable {

    /** How request threads wait; tests may inject one that does not sleep. */
    @FunctionalInterface
    public interface Sleeper {
        void sleepNanos(long nanos) throws InterruptedException;

        Sleeper REAL = nanos -> {
            if (nanos > 0) {
                TimeUnit.NANOSECONDS.sleep(nanos);
            }
        };
    }

    private static final String[] WORDS = {"the", "model", "token", "cache", "route", "pod", "fast", "queue",
        "light", "block", "prefix", "java", "gate", "way", "load", "page", "slot", "seed", "warm", "flow"};
    /**
     * Decode sleeps shorter than 10 ms are batched (tokens are then flushed together) so that time-compressed
     * replays spend their CPU on routing, not on waking threads for sub-millisecond sleeps.
     */
    private static final long MIN_SLEEP_NANOS = 10_000_000;

    private final SimConfig config;
    private final String podName;
    private final String namespace;
    private final SimEngine engine;
    private final SimMetrics metrics;
    private final Sleeper sleeper;
    private final LongSupplier nanoTicker;
    private final HttpServer http;
    private final ExecutorService executor;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicLong requestCounter = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private volatile Faults faults = Faults.NONE;

    private SimServer(SimConfig config, String podName, String namespace, int port, Sleeper sleeper,
                      LongSupplier nanoTicker) throws IOException {
        this.config = config;
        this.podName = podName;
        this.namespace = namespace;
        this.sleeper = sleeper;
        this.nanoTicker = nanoTicker;
        this.engine = new SimEngine(config, nanoTicker);
        this.metrics = new SimMetrics(config, System.currentTimeMillis() / 1000.0);
        AtomicInteger threads = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "sim-" + podName + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newCachedThreadPool(tf);
        this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        http.setExecutor(executor);
        http.createContext("/", this::handle);
        http.start();
    }

    /** Starts a server on {@code 127.0.0.1:port} ({@code 0} = ephemeral) that sleeps for real. */
    public static SimServer start(SimConfig config, String podName, int port) throws IOException {
        return new SimServer(config, podName, "default", port, Sleeper.REAL, System::nanoTime);
    }

    /** Starts a server with an injected sleeper and ticker (tests). */
    public static SimServer start(SimConfig config, String podName, int port, Sleeper sleeper,
                                  LongSupplier nanoTicker) throws IOException {
        return new SimServer(config, podName, "default", port, sleeper, nanoTicker);
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** {@code 127.0.0.1:port}. */
    public String hostPort() {
        return http.getAddress().getAddress().getHostAddress() + ":" + port();
    }

    public String podName() {
        return podName;
    }

    public SimConfig config() {
        return config;
    }

    public SimEngine engine() {
        return engine;
    }

    public void setFaults(Faults faults) {
        this.faults = faults;
    }

    /** Completion requests answered (any status). */
    public long served() {
        return served.get();
    }

    public long errors() {
        return errors.get();
    }

    @Override
    public void close() {
        closed.countDown();
        http.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            ex.getResponseHeaders().set("x-inference-pod", podName);
            ex.getResponseHeaders().set("x-inference-port", Integer.toString(port()));
            ex.getResponseHeaders().set("x-inference-namespace", namespace);
            switch (path) {
                case "/v1/chat/completions", "/v1/completions" -> {
                    if (!method.equals("POST")) {
                        sendJson(ex, 405, Json.openAiError("Method Not Allowed", "BadRequestError", 405));
                    } else {
                        completion(ex, path.equals("/v1/chat/completions"));
                    }
                }
                case "/v1/models" -> sendJson(ex, 200, modelsJson());
                case "/metrics" -> metrics(ex);
                case "/health" -> send(ex, 200, "text/plain", new byte[0]);
                case "/reset_prefix_cache" -> {
                    engine.resetPrefixCache();
                    send(ex, 200, "text/plain", new byte[0]);
                }
                default -> sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
            }
        } catch (IOException | RuntimeException e) {
            // The client went away or sent something unreadable; the connection is closed with the exchange.
        }
    }

    private void metrics(HttpExchange ex) throws IOException {
        if (faults.garbageMetrics()) {
            send(ex, 200, "text/plain", "<html>not{prometheus vllm:num_requests_running=??\n"
                    .getBytes(StandardCharsets.UTF_8));
            return;
        }
        String text = metrics.exposition(engine.snapshot(), System.currentTimeMillis() / 1000.0);
        send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    private String modelsJson() {
        long created = System.currentTimeMillis() / 1000;
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        sb.append(modelEntry(config.model(), null, created));
        for (String lora : config.loras()) {
            sb.append(',').append(modelEntry(lora, config.model(), created));
        }
        return sb.append("]}").toString();
    }

    private String modelEntry(String id, String parent, long created) {
        return "{\"id\":" + Json.quote(id) + ",\"object\":\"model\",\"created\":" + created
                + ",\"owned_by\":\"vllm\",\"root\":" + Json.quote(parent == null ? id : "/adapters/" + id)
                + ",\"parent\":" + (parent == null ? "null" : Json.quote(parent)) + ",\"max_model_len\":"
                + (parent == null ? Integer.toString(config.maxModelLen()) : "null") + "}";
    }

    private void completion(HttpExchange ex, boolean chat) throws IOException {
        served.incrementAndGet();
        byte[] body = ex.getRequestBody().readAllBytes();
        Map<String, Object> req;
        try {
            req = Json.parseObject(new String(body, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            fail(ex, 400, "BadRequestError", "invalid JSON body: " + e.getMessage());
            return;
        }
        String model = stringField(req, "model");
        if (model == null) {
            fail(ex, 400, "BadRequestError", "field 'model' is required");
            return;
        }
        if (!config.serves(model)) {
            fail(ex, 404, "NotFoundError", "The model `" + model + "` does not exist.");
            return;
        }
        String forced = ex.getRequestHeaders().getFirst("X-Return-Error");
        if (forced != null) {
            int status = parseStatus(forced);
            fail(ex, status, "InjectedError", "error injected by X-Return-Error");
            return;
        }
        Faults f = faults;
        long reqNo = requestCounter.incrementAndGet();
        SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003L + reqNo);
        if (f.errorRate() > 0 && random.nextDouble() < f.errorRate()) {
            fail(ex, 500, "InternalServerError", "injected server error");
            return;
        }
        if (f.hang()) {
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        String prompt;
        try {
            prompt = chat ? chatPrompt(req) : completionPrompt(req);
        } catch (RuntimeException e) {
            fail(ex, 400, "BadRequestError", e.getMessage());
            return;
        }
        int maxTokens = intField(req, "max_completion_tokens", intField(req, "max_tokens", config.defaultMaxTokens()));
        if (maxTokens < 1) {
            fail(ex, 400, "BadRequestError", "max_tokens must be at least 1");
            return;
        }
        boolean stream = Boolean.TRUE.equals(req.get("stream"));
        boolean includeUsage = req.get("stream_options") instanceof Map<?, ?> so
                && Boolean.TRUE.equals(so.get("include_usage"));
        String finishReason = req.containsKey("max_tokens") || req.containsKey("max_completion_tokens")
                ? "length" : "stop";
        String adapter = model.equals(config.model()) ? null : model;
        SimEngine.Sequence seq;
        try {
            seq = engine.submit(adapter, prompt, maxTokens);
        } catch (SimEngine.RejectedException e) {
            fail(ex, e.status(), e.status() == 429 ? "RateLimitError" : "BadRequestError", e.getMessage());
            return;
        }
        int generated = 0;
        String reason = "abort";
        try {
            engine.awaitRunning(seq);
            metrics.queue.observe(seq.queueNanos() / 1e9 * config.timeScale());
            Generation g = new Generation(ex, chat, model, "cmpl-" + podName + "-" + reqNo, seq, random, f.slowFactor());
            if (stream) {
                generated = g.stream(includeUsage, finishReason);
            } else {
                generated = g.whole(finishReason);
            }
            reason = finishReason;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            engine.finish(seq, reason, generated);
        }
    }

    /** Produces one response's tokens on the modelled schedule. */
    private final class Generation {
        final HttpExchange ex;
        final boolean chat;
        final String model;
        final String id;
        final SimEngine.Sequence seq;
        final SplittableRandom random;
        final double slow;
        final long created = System.currentTimeMillis() / 1000;
        final int cachedTokens;
        double simSeconds;

        Generation(HttpExchange ex, boolean chat, String model, String id, SimEngine.Sequence seq,
                   SplittableRandom random, double slow) {
            this.ex = ex;
            this.chat = chat;
            this.model = model;
            this.id = (chat ? "chat" : "") + id;
            this.seq = seq;
            this.random = random;
            this.slow = slow;
            this.cachedTokens = Math.min(seq.cachedTokens(config.blockSize()), seq.promptTokens());
        }

        /** Simulated milliseconds of this request's own prefill: overhead plus uncached tokens. */
        double prefillMs() {
            int uncached = seq.promptTokens() - cachedTokens;
            return jitter((config.prefillOverheadMs() + uncached * config.prefillPerTokenMs()) * slow);
        }

        /** Waits for the prefill lane and this prefill; returns the simulated time to first token. */
        double prefill() throws InterruptedException {
            long waitNanos = engine.reservePrefill(realNanos(prefillMs()));
            sleeper.sleepNanos(waitNanos);
            return waitNanos * config.timeScale() / 1_000_000.0;
        }

        double itlMs() {
            return jitter(config.interTokenMs() * engine.loadMultiplier(engine.running()) * slow);
        }

        private double jitter(double ms) {
            if (config.jitter() <= 0) {
                return ms;
            }
            double g = nextGaussian() * config.jitter();
            return ms * Math.max(0.3, Math.min(1.7, 1 + g));
        }

        private double nextGaussian() {
            double u1 = Math.max(1e-12, random.nextDouble());
            return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random.nextDouble());
        }

        private long realNanos(double simMs) {
            return (long) (simMs * 1_000_000 / config.timeScale());
        }

        String token() {
            return " " + WORDS[random.nextInt(WORDS.length)];
        }

        int whole(String finishReason) throws IOException, InterruptedException {
            double ttft = prefill();
            double decodeMs = 0;
            StringBuilder text = new StringBuilder();
            text.append(token().substring(1));
            for (int i = 1; i < seq.outputTokens(); i++) {
                double itl = itlMs();
                metrics.itl.observe(itl / 1000);
                decodeMs += itl;
                text.append(token());
            }
            sleeper.sleepNanos(realNanos(decodeMs));
            metrics.ttft.observe(ttft / 1000);
            observe(ttft, decodeMs);
            String content = text.toString();
            String json = chat
                    ? "{\"id\":" + Json.quote(id) + ",\"object\":\"chat.completion\",\"created\":" + created
                    + ",\"model\":" + Json.quote(model) + ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                    + "\"content\":" + Json.quote(content) + ",\"tool_calls\":[]},\"logprobs\":null,\"finish_reason\":"
                    + Json.quote(finishReason) + ",\"stop_reason\":null}],\"usage\":" + usage() + ",\"prompt_logprobs\":null}"
                    : "{\"id\":" + Json.quote(id) + ",\"object\":\"text_completion\",\"created\":" + created
                    + ",\"model\":" + Json.quote(model) + ",\"choices\":[{\"index\":0,\"text\":" + Json.quote(content)
                    + ",\"logprobs\":null,\"finish_reason\":" + Json.quote(finishReason)
                    + ",\"stop_reason\":null,\"prompt_logprobs\":null}],\"usage\":" + usage() + "}";
            sendJson(ex, 200, json);
            return seq.outputTokens();
        }

        int stream(boolean includeUsage, String finishReason) throws IOException, InterruptedException {
            double ttft = prefill();
            metrics.ttft.observe(ttft / 1000);
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (chat) {
                event(out, chunk("{\"role\":\"assistant\",\"content\":\"\"}", null));
            }
            event(out, chat ? chunk("{\"content\":" + Json.quote(token().substring(1)) + "}", null)
                    : textChunk(token().substring(1), null));
            out.flush();
            double decodeMs = 0;
            long debt = 0;
            for (int i = 1; i < seq.outputTokens(); i++) {
                double itl = itlMs();
                metrics.itl.observe(itl / 1000);
                decodeMs += itl;
                debt += realNanos(itl);
                if (debt >= MIN_SLEEP_NANOS) {
                    out.flush();
                    sleeper.sleepNanos(debt);
                    debt = 0;
                }
                String t = token();
                event(out, chat ? chunk("{\"content\":" + Json.quote(t) + "}", null) : textChunk(t, null));
            }
            sleeper.sleepNanos(debt);
            event(out, chat ? chunk("{}", finishReason) : textChunk("", finishReason));
            if (includeUsage) {
                event(out, "{\"id\":" + Json.quote(id) + ",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                        + "\",\"created\":" + created + ",\"model\":" + Json.quote(model) + ",\"choices\":[],\"usage\":"
                        + usage() + "}");
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            observe(ttft, decodeMs);
            out.close();
            return seq.outputTokens();
        }

        private void observe(double ttftMs, double decodeMs) {
            metrics.prefill.observe(ttftMs / 1000);
            metrics.decode.observe(decodeMs / 1000);
            metrics.e2e.observe((ttftMs + decodeMs) / 1000 + seq.queueNanos() / 1e9 * config.timeScale());
            metrics.tpot.observe(seq.outputTokens() > 1 ? decodeMs / 1000 / (seq.outputTokens() - 1) : 0);
            metrics.promptTokens.observe(seq.promptTokens());
            metrics.generationTokens.observe(seq.outputTokens());
            metrics.maxTokens.observe(seq.outputTokens());
        }

        private String usage() {
            return "{\"prompt_tokens\":" + seq.promptTokens() + ",\"total_tokens\":"
                    + (seq.promptTokens() + seq.outputTokens()) + ",\"completion_tokens\":" + seq.outputTokens()
                    + ",\"prompt_tokens_details\":{\"cached_tokens\":" + cachedTokens + "}}";
        }

        private String chunk(String delta, String finishReason) {
            return "{\"id\":" + Json.quote(id) + ",\"object\":\"chat.completion.chunk\",\"created\":" + created
                    + ",\"model\":" + Json.quote(model) + ",\"choices\":[{\"index\":0,\"delta\":" + delta
                    + ",\"logprobs\":null,\"finish_reason\":" + (finishReason == null ? "null" : Json.quote(finishReason))
                    + "}]}";
        }

        private String textChunk(String text, String finishReason) {
            return "{\"id\":" + Json.quote(id) + ",\"object\":\"text_completion\",\"created\":" + created
                    + ",\"model\":" + Json.quote(model) + ",\"choices\":[{\"index\":0,\"text\":" + Json.quote(text)
                    + ",\"logprobs\":null,\"finish_reason\":" + (finishReason == null ? "null" : Json.quote(finishReason))
                    + ",\"stop_reason\":null}]}";
        }

        private void event(OutputStream out, String json) throws IOException {
            out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    private static String chatPrompt(Map<String, Object> req) {
        if (!(req.get("messages") instanceof List<?> messages)) {
            throw new IllegalArgumentException("field 'messages' must be an array");
        }
        StringBuilder sb = new StringBuilder();
        for (Object m : messages) {
            if (!(m instanceof Map<?, ?> msg)) {
                throw new IllegalArgumentException("each message must be an object");
            }
            sb.append("<|").append(msg.get("role")).append("|>\n");
            Object content = msg.get("content");
            if (content instanceof List<?> parts) {
                for (Object part : parts) {
                    if (part instanceof Map<?, ?> p && p.get("text") instanceof String text) {
                        sb.append(text);
                    }
                }
            } else if (content instanceof String text) {
                sb.append(text);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String completionPrompt(Map<String, Object> req) {
        Object p = req.get("prompt");
        if (p instanceof String text) {
            return text;
        }
        if (p instanceof List<?> list) {
            StringBuilder sb = new StringBuilder();
            list.forEach(e -> sb.append(e));
            return sb.toString();
        }
        throw new IllegalArgumentException("field 'prompt' is required");
    }

    private static String stringField(Map<String, Object> o, String name) {
        return o.get(name) instanceof String v ? v : null;
    }

    private static int intField(Map<String, Object> o, String name, int dflt) {
        Object v = o.get(name);
        if (v == null) {
            return dflt;
        }
        return v instanceof Double d ? (int) Math.min(Integer.MAX_VALUE, d.doubleValue()) : -1;
    }

    private static int parseStatus(String s) {
        try {
            int v = Integer.parseInt(s.trim());
            return v >= 400 && v <= 599 ? v : 500;
        } catch (NumberFormatException e) {
            return 500;
        }
    }

    private void fail(HttpExchange ex, int status, String type, String message) throws IOException {
        errors.incrementAndGet();
        sendJson(ex, status, "{\"object\":\"error\",\"message\":" + Json.quote(message) + ",\"type\":"
                + Json.quote(type) + ",\"param\":null,\"code\":" + status + "}");
    }

    private static void sendJson(HttpExchange ex, int status, String json) throws IOException {
        send(ex, status, "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
