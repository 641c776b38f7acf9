package io.epp4j.bench.sim;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.epp4j.bench.cli.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * One simulated vLLM server on a loopback port: the OpenAI endpoints ({@code /v1/chat/completions},
 * {@code /v1/completions}, {@code /v1/models}, JSON and SSE), vLLM's {@code /metrics}, {@code /health},
 * {@code /reset_prefix_cache}, {@code /tokenize}, {@code /v1/completions/render} and
 * {@code /v1/chat/completions/render} (token ids from {@link SimTokenizer}), and, when started with a
 * {@link KvEventsConfig}, vLLM's KV-cache events ({@link KvEventPublisher}): what its prefix cache stores, evicts and
 * clears, one batch per engine step.
 *
 * <p>Fault injection at run time: {@link #setFaults} or {@code POST /sim/faults} (body: a {@link Faults#parse} spec),
 * and {@link #restart} or {@code POST /sim/restart} (every request in flight ends, the cache empties, the event
 * numbering starts again at 0 with {@code AllBlocksCleared}).
 *
 * <p>Requests go into an {@link EngineCore} (the engine model of {@link SimConfig#engineModel()}); one engine thread
 * per server moves the engine through simulated time at {@link SimConfig#timeScale()} times real time and hands each
 * request's tokens to its HTTP thread, which writes them out. Every response carries {@code x-inference-pod},
 * {@code x-inference-port} and {@code x-inference-namespace} so callers can see who served them.
 */
public final class SimServer implements AutoCloseable {

    private static final String[] WORDS = {"the", "model", "token", "cache", "route", "pod", "fast", "queue",
        "light", "block", "prefix", "java", "gate", "way", "load", "page", "slot", "seed", "warm", "flow"};
    /**
     * A request's HTTP thread is woken for its first token, its end, and otherwise at most every 10 ms of real time
     * (its tokens are then written together), so that time-compressed replays spend their CPU on routing, not on
     * waking threads for every simulated token.
     */
    private static final long MIN_WAKE_NANOS = 10_000_000;

    /**
     * The JDK's HTTP server closes a connection as soon as its answer is out once 200 others are idle
     * ({@code sun.net.httpserver.maxIdleConnections}), and a client that takes that connection from its pool in
     * the meantime gets no answer ("HTTP/1.1 header parser received no bytes"): the gateway simulator then answers
     * 503 for a request the pod never saw. vLLM's server keeps any number of idle keep-alive connections, and a
     * replay leaves hundreds idle on each pod (its warm-up gateway's pool, a sidecar's prefill legs), so the
     * simulated pods lift the limit. The JDK reads the property once, when the JVM's first HTTP server starts;
     * a value given on the command line is kept.
     */
    static final String MAX_IDLE_CONNECTIONS = "sun.net.httpserver.maxIdleConnections";

    static {
        if (System.getProperty(MAX_IDLE_CONNECTIONS) == null) {
            System.setProperty(MAX_IDLE_CONNECTIONS, Integer.toString(Integer.MAX_VALUE));
        }
    }

    private final SimConfig config;
    private final String podName;
    private final String namespace;
    private final SimMetrics metrics;
    private final LongSupplier nanoTicker;
    private final HttpServer http;
    private final ExecutorService executor;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicLong requestCounter = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private volatile Faults faults = Faults.NONE;

    /** The engine and everything it hands out are guarded by this lock. */
    private final Object lock = new Object();
    private final EngineCore engine;
    private final long originNanos;
    private final Thread engineThread;
    private final EngineEvents events = new EngineEvents();
    /** Requests submitted and not finished, under the lock (a restart ends them). */
    private final Set<Seq> live = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Null without KV events. */
    private final KvEventRecorder kvRecorder;
    private final KvEventPublisher kvEvents;
    private volatile boolean stopping;
    /** P/D: the decode side's sidecar and the prefill side's answers. */
    private final Sidecar sidecar = new Sidecar();

    private SimServer(SimConfig config, String podName, String namespace, int port, LongSupplier nanoTicker,
                      KvEventsConfig kv) throws IOException {
        this.config = config;
        this.podName = podName;
        this.namespace = namespace;
        this.nanoTicker = nanoTicker;
        this.engine = EngineCore.create(config);
        this.originNanos = nanoTicker.getAsLong();
        this.metrics = new SimMetrics(config, System.currentTimeMillis() / 1000.0);
        AtomicInteger threads = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "sim-" + podName + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newCachedThreadPool(tf);
        this.engineThread = new Thread(this::driveEngine, "sim-" + podName + "-engine");
        engineThread.setDaemon(true);
        this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        if (kv != null) {
            kvRecorder = new KvEventRecorder(config);
            ((EngineBase) engine).realCache.listener(kvRecorder);
            String topic = kv.topic() != null ? kv.topic() : "kv@" + hostPort() + "@" + config.model();
            try {
                kvEvents = new KvEventPublisher(kv.resolve(port()), topic, podName);
            } catch (RuntimeException e) {
                http.stop(0);
                throw new IOException(e.getMessage(), e);
            }
        } else {
            kvRecorder = null;
            kvEvents = null;
        }
        engineThread.start();
        http.setExecutor(executor);
        http.createContext("/", this::handle);
        http.start();
    }

    /** Starts a server on {@code 127.0.0.1:port} ({@code 0} = ephemeral). */
    public static SimServer start(SimConfig config, String podName, int port) throws IOException {
        return start(config, podName, port, null);
    }

    /** The same, publishing KV-cache events as {@code kvEvents} says (null: none). */
    public static SimServer start(SimConfig config, String podName, int port, KvEventsConfig kvEvents)
            throws IOException {
        return new SimServer(config, podName, "default", port, System::nanoTime, kvEvents);
    }

    /** The KV-event publisher, or null when this pod publishes none. */
    public KvEventPublisher kvEvents() {
        return kvEvents;
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

    /**
     * Requests so far by P/D outcome, as {@code epp4j_sim_pd_requests_total} counts them: {@code prefill-leg},
     * {@code prefill-decode}, {@code decode-only} and the {@code fallback-*} ones.
     */
    public Map<String, Long> pdOutcomes() {
        return sidecar.counts();
    }

    /** The engine's state now, as {@code /metrics} reports it. */
    public EngineCore.Snapshot snapshot() {
        synchronized (lock) {
            return engine.snapshot(simNow());
        }
    }

    /** vLLM's {@code reset_prefix_cache}. */
    public void resetPrefixCache() {
        synchronized (lock) {
            engine.resetPrefixCache();
            flushKvEvents();
        }
    }

    /**
     * P/D: this pod's {@code llm-d.ai/role} (shown on {@code epp4j_sim_pd_requests_total}) and how KV moves to it
     * from a prefill pod. Any pod acts on {@code x-prefiller-host-port}, as a decode pod's sidecar does.
     */
    public void setDisaggregation(String role, KvTransfer transfer) {
        sidecar.configure(role, transfer);
    }

    public void setFaults(Faults faults) {
        this.faults = faults;
        synchronized (lock) {
            engine.setSlowFactor(faults.slowFactor());
        }
        if (kvEvents != null) {
            kvEvents.stop(faults.kvEventsStopped());
            if (faults.kvSkipBatches() > 0) {
                kvEvents.skip(faults.kvSkipBatches());
            }
        }
    }

    /**
     * A restarted vLLM: every request in flight ends (streams are cut), the KV cache empties, and the KV-event
     * numbering starts again at 0 with an empty replay buffer; the first batch of the new numbering is
     * {@code AllBlocksCleared}. The server's counters are kept.
     */
    public void restart() {
        synchronized (lock) {
            long now = simNow();
            List<Seq> inFlight = new ArrayList<>(live);
            inFlight.sort((a, b) -> Boolean.compare(a.running, b.running)); // waiting first: none is admitted then
            for (Seq s : inFlight) {
                engine.abort(s, now, events);
            }
            flushKvEvents();
            if (kvEvents != null) {
                kvEvents.restart();
            }
            engine.resetPrefixCache();
            flushKvEvents();
            lock.notifyAll();
        }
    }

    /** Hands the events of the engine's last step to the publisher, as one batch. Under the lock. */
    private void flushKvEvents() {
        if (kvRecorder != null && !kvRecorder.isEmpty()) {
            kvEvents.publish(System.currentTimeMillis() / 1000.0, kvRecorder.drain());
        }
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
        stopping = true;
        closed.countDown();
        synchronized (lock) {
            lock.notifyAll();
        }
        http.stop(0);
        executor.shutdownNow();
        if (kvEvents != null) {
            kvEvents.close();
        }
    }

    /** Simulated time since the server started. */
    private long simNow() {
        return (long) ((nanoTicker.getAsLong() - originNanos) * config.timeScale());
    }

    /** The engine thread: advances the engine to each event as real time reaches it. */
    private void driveEngine() {
        synchronized (lock) {
            while (!stopping) {
                long now = simNow();
                long next = engine.nextEventNanos();
                try {
                    if (next == Long.MAX_VALUE) {
                        lock.wait();
                    } else if (next > now) {
                        long realNanos = (long) Math.ceil((next - now) / config.timeScale());
                        lock.wait(realNanos / 1_000_000, (int) (realNanos % 1_000_000));
                    } else {
                        engine.advance(now, events);
                        flushKvEvents();
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** Hands tokens to the requests' HTTP threads and records vLLM's latency histograms (in simulated time). */
    private final class EngineEvents implements EngineCore.Events {
        @Override
        public void stepEnded(long atNanos) {
            flushKvEvents();
        }

        @Override
        public void firstToken(Seq seq, long at) {
            Generation g = (Generation) seq.tag();
            metrics.queue.observe((seq.scheduledNanos() - seq.arrivalNanos()) / 1e9);
            metrics.ttft.observe((at - seq.arrivalNanos()) / 1e9);
            g.lastTokenNanos = at;
            g.publish(true);
        }

        @Override
        public void token(Seq seq, long at) {
            Generation g = (Generation) seq.tag();
            metrics.itl.observe((at - g.lastTokenNanos) / 1e9);
            g.lastTokenNanos = at;
            g.publish(false);
        }

        @Override
        public void finished(Seq seq, long at) {
            live.remove(seq);
            Generation g = (Generation) seq.tag();
            if (!seq.aborted() && seq.firstTokenNanos() >= 0) {
                double prefill = (seq.firstTokenNanos() - seq.scheduledNanos()) / 1e9;
                double decode = (at - seq.firstTokenNanos()) / 1e9;
                metrics.prefill.observe(prefill);
                metrics.decode.observe(decode);
                metrics.e2e.observe((at - seq.arrivalNanos()) / 1e9);
                metrics.tpot.observe(seq.generated() > 1 ? decode / (seq.generated() - 1) : 0);
                metrics.promptTokens.observe(seq.promptTokens());
                metrics.generationTokens.observe(seq.generated());
                metrics.maxTokens.observe(seq.maxTokens());
            }
            g.done = true;
            g.publish(true);
        }
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
                    resetPrefixCache();
                    send(ex, 200, "text/plain", new byte[0]);
                }
                case "/tokenize", "/v1/completions/render", "/v1/chat/completions/render" -> {
                    if (!method.equals("POST")) {
                        sendJson(ex, 405, Json.openAiError("Method Not Allowed", "BadRequestError", 405));
                    } else {
                        tokenize(ex, path);
                    }
                }
                case "/sim/faults" -> {
                    try {
                        setFaults(Faults.parse(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
                        send(ex, 200, "text/plain", new byte[0]);
                    } catch (IllegalArgumentException e) {
                        fail(ex, 400, "BadRequestError", e.getMessage());
                    }
                }
                case "/sim/restart" -> {
                    restart();
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
        String text = metrics.exposition(snapshot(), System.currentTimeMillis() / 1000.0) + sidecar.exposition();
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
        Generation g = new Generation(ex, chat, model, "cmpl-" + podName + "-" + reqNo, random);
        boolean prefilled = false;
        if (Sidecar.isPrefillLeg(req)) {
            sidecar.count("prefill-leg");
            g.kvTransferParams = true;
        } else if (ex.getRequestHeaders().getFirst(Sidecar.PREFILLER) != null) {
            try {
                Sidecar.Prefilled p = sidecar.prefill(ex.getRequestHeaders().getFirst(Sidecar.PREFILLER),
                        ex.getRequestURI().getPath(), req, config.timeScale());
                int missing;
                synchronized (lock) {
                    missing = EngineCore.promptTokens(prompt) - engine.cachedPromptTokens(adapter, prompt);
                }
                long realNanos = (long) (sidecar.transfer().nanos(missing) / config.timeScale());
                Thread.sleep(realNanos / 1_000_000, (int) (realNanos % 1_000_000)); // the KV pull
                g.cachedOverride = p.cachedTokens();
                prefilled = true;
                sidecar.count("prefill-decode");
            } catch (Sidecar.FallbackException e) {
                sidecar.count(e.outcome);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        } else {
            sidecar.count("decode-only");
        }
        Seq seq;
        try {
            synchronized (lock) {
                seq = prefilled ? engine.submitPrefilled(adapter, prompt, maxTokens, g, simNow())
                        : engine.submit(adapter, prompt, maxTokens, g, simNow());
                seq.finishesWithStop(finishReason.equals("stop"));
                g.seq = seq;
                live.add(seq);
                flushKvEvents();
                lock.notifyAll(); // the engine thread may now have an earlier event to wait for
            }
        } catch (EngineCore.RejectedException e) {
            fail(ex, e.status(), e.status() == 429 ? "RateLimitError" : "BadRequestError", e.getMessage());
            return;
        }
        boolean ended = false;
        try {
            if (stream) {
                g.stream(includeUsage, finishReason);
            } else {
                g.whole(finishReason);
            }
            ended = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (!ended) {
                synchronized (lock) {
                    engine.abort(seq, simNow(), events); // the client went away: free its slot and blocks
                    flushKvEvents();
                }
            }
        }
    }

    /**
     * One response: its HTTP thread waits for the tokens the engine thread publishes and writes them (as SSE
     * events, one per token, or as one JSON body at the end).
     */
    private final class Generation {
        final HttpExchange ex;
        final boolean chat;
        final String model;
        final String id;
        final SplittableRandom random;
        final long created = System.currentTimeMillis() / 1000;
        final Thread thread = Thread.currentThread();
        /** Set under the lock right after submission, before any event. */
        Seq seq;
        /** P/D: answer a prefill leg with the KV's {@code kv_transfer_params}. */
        boolean kvTransferParams;
        /** P/D: the prefill pod's cached tokens, reported instead of this pod's (-1: this pod's). */
        int cachedOverride = -1;
        // written by the engine thread under the lock, read by the HTTP thread
        volatile int published;
        volatile boolean done;
        long lastTokenNanos;
        private long lastWakeNanos;
        private int written;

        Generation(HttpExchange ex, boolean chat, String model, String id, SplittableRandom random) {
            this.ex = ex;
            this.chat = chat;
            this.model = model;
            this.id = (chat ? "chat" : "") + id;
            this.random = random;
        }

        /** Engine thread: the sequence has {@code seq.generated()} tokens now; wake the writer if it is time. */
        void publish(boolean urgent) {
            published = seq.generated();
            long now = System.nanoTime();
            if (urgent || now - lastWakeNanos >= MIN_WAKE_NANOS) {
                lastWakeNanos = now;
                LockSupport.unpark(thread);
            }
        }

        /** Blocks until more than {@code written} tokens are out or the request ended; returns the count. */
        private int awaitTokens() throws InterruptedException {
            while (true) {
                int p = published;
                if (p > written || done) {
                    return p;
                }
                LockSupport.park(this);
                if (Thread.interrupted() || closed.getCount() == 0) {
                    throw new InterruptedException("server stopping");
                }
            }
        }

        String token() {
            return " " + WORDS[random.nextInt(WORDS.length)];
        }

        void whole(String finishReason) throws IOException, InterruptedException {
            while (!done) {
                written = awaitTokens();
            }
            if (seq.aborted()) {
                return;
            }
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < seq.generated(); i++) {
                text.append(i == 0 ? token().substring(1) : token());
            }
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
            if (kvTransferParams) {
                json = json.substring(0, json.length() - 1) + ",\"kv_transfer_params\":" + Sidecar.kvTransferParams(
                        podName, id, InetAddress.getLoopbackAddress().getHostAddress(),
                        (seq.promptTokens() + config.blockSize() - 1) / config.blockSize()) + "}";
            }
            sendJson(ex, 200, json);
        }

        void stream(boolean includeUsage, String finishReason) throws IOException, InterruptedException {
            int available = awaitTokens();
            if (available == 0) {
                return; // aborted before its first token
            }
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (chat) {
                event(out, chunk("{\"role\":\"assistant\",\"content\":\"\"}", null));
            }
            while (true) {
                for (; written < available; written++) {
                    String t = written == 0 ? token().substring(1) : token();
                    event(out, chat ? chunk("{\"content\":" + Json.quote(t) + "}", null) : textChunk(t, null));
                }
                out.flush();
                if (done && written >= published) {
                    break;
                }
                available = awaitTokens();
            }
            if (seq.aborted()) {
                out.close();
                return;
            }
            event(out, chat ? chunk("{}", finishReason) : textChunk("", finishReason));
            if (includeUsage) {
                event(out, "{\"id\":" + Json.quote(id) + ",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                        + "\",\"created\":" + created + ",\"model\":" + Json.quote(model) + ",\"choices\":[],\"usage\":"
                        + usage() + "}");
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            out.close();
        }

        private String usage() {
            return "{\"prompt_tokens\":" + seq.promptTokens() + ",\"total_tokens\":"
                    + (seq.promptTokens() + seq.generated()) + ",\"completion_tokens\":" + seq.generated()
                    + ",\"prompt_tokens_details\":{\"cached_tokens\":"
                    + (cachedOverride >= 0 ? cachedOverride : seq.cachedTokens()) + "}}";
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

    /**
     * vLLM's {@code /tokenize} ({@code prompt} or chat {@code messages}; answers {@code count}, {@code max_model_len},
     * {@code tokens}) and the render endpoints ({@code /v1/completions/render}: a list with one
     * {@code {request_id, model, token_ids, features}} per prompt; {@code /v1/chat/completions/render}: one such
     * object), with the prompt text a completion request of the same body would be served with.
     */
    private void tokenize(HttpExchange ex, String path) throws IOException {
        Map<String, Object> req;
        try {
            req = Json.parseObject(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            fail(ex, 400, "BadRequestError", "invalid JSON body: " + e.getMessage());
            return;
        }
        String model = stringField(req, "model");
        if (model != null && !config.serves(model)) {
            fail(ex, 404, "NotFoundError", "The model `" + model + "` does not exist.");
            return;
        }
        List<String> prompts;
        try {
            if (path.equals("/v1/chat/completions/render") || (path.equals("/tokenize") && req.containsKey("messages"))) {
                prompts = List.of(chatPrompt(req));
            } else if (path.equals("/v1/completions/render") && req.get("prompt") instanceof List<?> list
                    && list.stream().allMatch(e -> e instanceof String)) {
                prompts = list.stream().map(e -> (String) e).toList();
            } else {
                prompts = List.of(completionPrompt(req));
            }
        } catch (RuntimeException e) {
            fail(ex, 400, "BadRequestError", e.getMessage());
            return;
        }
        if (path.equals("/tokenize")) {
            int[] ids = SimTokenizer.encode(prompts.get(0));
            sendJson(ex, 200, "{\"count\":" + ids.length + ",\"max_model_len\":" + config.maxModelLen()
                    + ",\"tokens\":" + jsonInts(ids) + ",\"token_strs\":null}");
            return;
        }
        String served = model != null ? model : config.model();
        StringBuilder sb = new StringBuilder();
        for (String prompt : prompts) {
            sb.append(sb.isEmpty() ? "" : ",").append("{\"request_id\":")
                    .append(Json.quote("render-" + podName + "-" + requestCounter.incrementAndGet()))
                    .append(",\"model\":").append(Json.quote(served)).append(",\"token_ids\":")
                    .append(jsonInts(SimTokenizer.encode(prompt))).append(",\"features\":null}");
        }
        sendJson(ex, 200, path.equals("/v1/chat/completions/render") ? sb.toString() : "[" + sb + "]");
    }

    private static String jsonInts(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 10 + 2).append('[');
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ",").append(ids[i]);
        }
        return sb.append(']').toString();
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
