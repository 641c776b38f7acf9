package io.epp4j.bench.gateway;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.bench.cli.Json;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.ExtProcClient;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OpenAI-compatible HTTP front that behaves like the seed's agentgateway set-up: a pre-routing
 * body-based-routing map from {@code model} to {@code X-Gateway-Base-Model-Name}, one route per base model to
 * an InferencePool, the pool's EPP asked over ext_proc the way agentgateway (or Envoy) asks, and the request
 * proxied to the chosen endpoint with the response streamed back through the EPP.
 *
 * <p>Simplifications (see bench/README.md): the client body is read whole before the ext_proc stream opens
 * (agentgateway peeks it whole too, for the body-based-routing CEL), and the upstream call starts once the
 * EPP has answered the headers and echoed the last body chunk. The message order on the stream is
 * agentgateway's.
 */
public final class GatewaySim implements AutoCloseable {

    /** Header the body-based-routing policy sets before route matching. */
    public static final String BASE_MODEL_HEADER = "x-gateway-base-model-name";
    /** Diagnostic headers the simulator adds to client responses (agentgateway does not). */
    public static final String POOL_HEADER = "x-epp4j-pool";
    public static final String SERVED_HEADER = "x-gateway-destination-endpoint-served";
    /**
     * Real microseconds from the moment the gateway holds the client's whole request to the start of the upstream
     * call (body-based routing plus the EPP's decision; the client's upload is not routing), so time-compressed
     * replays can tell routing time from model time.
     */
    public static final String ROUTING_TIME_HEADER = "x-epp4j-routing-us";
    /**
     * On an answer the gateway made itself (no pod answered), why, as an Envoy response flag says it in an access
     * log: one of {@link Cause}'s names, so a client can tell an EPP's refusal from a failed upstream.
     */
    public static final String CAUSE_HEADER = "x-epp4j-gateway-error";

    /** Why the gateway answered a request itself with an error. */
    public enum Cause {
        /** The EPP answered with an immediate response of status 400 or more (e.g. 429 shed, 503 no pod). */
        EPP_REFUSED("epp-refused"),
        /** The EPP's pick was missing, not one address, or not an endpoint of the pool. */
        EPP_INVALID_DESTINATION("epp-invalid-destination"),
        /** The ext_proc stream failed: an error status, no answer in time, or an answer out of order. */
        EPP_STREAM("epp-stream"),
        /** The connection to the picked pod failed, or closed before the pod sent its response headers. */
        UPSTREAM_CONNECT("upstream-connect"),
        /** The picked pod did not send its response headers within the route timeout. */
        UPSTREAM_TIMEOUT("upstream-timeout"),
        /** The body-based router (ext_proc, before routing) failed. */
        BODY_ROUTER("body-router"),
        /** No route for the request's model. */
        NO_ROUTE("no-route");

        private final String label;

        Cause(String label) {
            this.label = label;
        }

        /** The {@link #CAUSE_HEADER} value. */
        public String label() {
            return label;
        }
    }

    private static final int CLIENT_FRAME_BYTES = 16 * 1024;
    private static final Duration EPP_ANSWER_TIMEOUT = Duration.ofSeconds(120);
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "transfer-encoding",
            "keep-alive", "upgrade", "expect", "host", "te", "trailer", "proxy-connection");

    private final Map<String, String> baseModelByModel;
    /** A body-based router asked over ext_proc before route matching, instead of the built-in map; or null. */
    private final ExtProcClient bodyRouter;
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private final HttpServer http;
    private final ExecutorService executor;
    private final HttpClient upstream;
    private final Map<String, AtomicLong> servedByEndpoint = new ConcurrentHashMap<>();
    private final AtomicLong shed = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Map<Cause, AtomicLong> answeredByCause = new ConcurrentHashMap<>();
    private final AtomicLong responseChunks = new AtomicLong();
    /** How long an upstream may take to answer with its headers (Envoy's route timeout), or null: no limit. */
    private volatile Duration upstreamTimeout;

    private static final class Route {
        final Pool pool;
        /** The EPP replicas (empty without an EPP); streams go to each in turn. */
        final List<ExtProcClient> epps = new ArrayList<>();
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger nextEpp = new AtomicInteger();
        final SplittableRandom random;

        Route(Pool pool) {
            this.pool = pool;
            if (pool.routing() instanceof Pool.ViaEpp via) {
                for (int port : via.ports()) {
                    epps.add(via.tls() ? ExtProcClient.insecureTls(via.host(), port, null)
                            : ExtProcClient.plaintext(via.host(), port));
                }
                this.random = null;
            } else {
                this.random = new SplittableRandom(((Pool.Balanced) pool.routing()).seed());
            }
        }
    }

    private GatewaySim(int port, Map<String, String> baseModelByModel, List<Pool> pools, ExtProcClient bodyRouter)
            throws IOException {
        this.baseModelByModel = Map.copyOf(baseModelByModel);
        this.bodyRouter = bodyRouter;
        for (Pool p : pools) {
            routes.put(p.baseModel(), new Route(p));
        }
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "gateway-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.upstream = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).executor(executor).build();
        this.http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        http.setExecutor(executor);
        http.createContext("/", this::handle);
        http.start();
    }

    /**
     * Starts the gateway on {@code 127.0.0.1:port} ({@code 0} = ephemeral).
     *
     * @param baseModelByModel the body-based-routing map: request {@code model} → base model
     * @param pools one pool per base model
     */
    public static GatewaySim start(int port, Map<String, String> baseModelByModel, List<Pool> pools)
            throws IOException {
        return new GatewaySim(port, baseModelByModel, pools, null);
    }

    /**
     * Starts the gateway as an Envoy-based one is set up: a body-based router (an ext_proc server, e.g. epp4j
     * {@code --mode bbr}) is asked first, as Envoy's first HTTP filter, and the request is routed on the
     * {@code X-Gateway-Base-Model-Name} it sets; the body sent on is the one it echoed. The router's stream covers
     * the request side only (its response side is a pass-through, left out here).
     *
     * @param modelList the models {@code GET /v1/models} lists (model → base model)
     */
    public static GatewaySim withBodyRouter(int port, ExtProcClient bodyRouter, Map<String, String> modelList,
                                            List<Pool> pools) throws IOException {
        return new GatewaySim(port, modelList, pools, bodyRouter);
    }

    /**
     * Gives up on an upstream that has not answered its headers within {@code timeout} (null: wait forever), as
     * Envoy's route timeout does: the client gets 504 and the ext_proc stream is closed.
     */
    public GatewaySim upstreamTimeout(Duration timeout) {
        this.upstreamTimeout = timeout;
        return this;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** Requests proxied to each endpoint ({@code ip:port}). */
    public Map<String, Long> servedByEndpoint() {
        Map<String, Long> out = new LinkedHashMap<>();
        servedByEndpoint.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Requests the EPP answered itself with an error status (e.g. 429 shed, 503 no capacity). */
    public long shed() {
        return shed.get();
    }

    /** Response body messages forwarded to EPPs so far (one per upstream read, plus each end of stream). */
    public long responseChunksToEpp() {
        return responseChunks.get();
    }

    /** Requests that failed in the gateway (EPP stream errors, invalid destinations, upstream errors). */
    public long failures() {
        return failures.get();
    }

    /** Error answers the gateway made itself, by cause (EPP refusals included). */
    public Map<Cause, Long> errorsByCause() {
        Map<Cause, Long> out = new java.util.EnumMap<>(Cause.class);
        answeredByCause.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    @Override
    public void close() {
        http.stop(0);
        for (Route r : routes.values()) {
            r.epps.forEach(e -> e.channel().shutdownNow());
        }
        if (bodyRouter != null) {
            bodyRouter.channel().shutdownNow();
        }
        executor.shutdownNow();
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            String method = ex.getRequestMethod();
            String path = ex.getRequestURI().getRawPath();
            if (method.equals("GET") && path.equals("/v1/models")) {
                sendJson(ex, 200, modelsJson(), Map.of());
                return;
            }
            byte[] body = ex.getRequestBody().readAllBytes();
            long arrival = System.nanoTime();
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            ex.getRequestHeaders().forEach((k, vs) -> {
                String key = k.toLowerCase(Locale.ROOT);
                if (bodyRouter != null || !key.equals(BASE_MODEL_HEADER)) {
                    vs.forEach(v -> headers.add(Map.entry(key, v)));
                }
            });
            String baseModel;
            if (bodyRouter != null) {
                PreRouted routed = preRoute(ex, headers, body);
                if (routed == null) {
                    return;
                }
                headers.clear();
                headers.addAll(routed.headers());
                body = routed.body();
                baseModel = headers.stream().filter(h -> h.getKey().equals(BASE_MODEL_HEADER))
                        .map(Map.Entry::getValue).findFirst().orElse(null);
            } else {
                baseModel = bodyBasedRouting(body);
                if (baseModel != null) {
                    headers.add(Map.entry(BASE_MODEL_HEADER, baseModel));
                }
            }
            Route route = baseModel == null ? null : routes.get(baseModel);
            if (route == null) {
                String model = modelOf(body);
                sendError(ex, Cause.NO_ROUTE, 404, Json.openAiError(model == null
                        ? "no route matched: the request body names no model"
                        : "The model `" + model + "` does not exist.", "invalid_request_error", 404));
                return;
            }
            if (route.pool.routing() instanceof Pool.ViaEpp epp) {
                new Exchange(ex, route, epp.dialect(), headers, body, arrival).run();
            } else {
                String dest = balance(route);
                proxyDirect(ex, route.pool, dest, headers, body, arrival);
            }
        } catch (IOException | RuntimeException e) {
            failures.incrementAndGet();
        }
    }

    /** The request as the body-based router left it: its header mutation applied, the body it echoed. */
    private record PreRouted(List<Map.Entry<String, String>> headers, byte[] body) {
    }

    /**
     * One request-side exchange with the body-based router, as Envoy's first filter makes it (FULL_DUPLEX,
     * every header in raw_value); on a failure answers 500 to the client (Envoy fails closed) and returns null.
     */
    private PreRouted preRoute(HttpExchange ex, List<Map.Entry<String, String>> headers, byte[] body)
            throws IOException {
        Map<String, String> requestHeaders = pseudoHeaders(ex);
        headers.forEach(h -> requestHeaders.put(h.getKey(), h.getValue()));
        GatewayStream stream = bodyRouter.open();
        try {
            stream.send(Messages.request(Dialect.ISTIO, requestHeaders, body, CLIENT_FRAME_BYTES));
            ProcessingResponse first = stream.next(EPP_ANSWER_TIMEOUT);
            if (!first.hasRequestHeaders()) {
                throw new IllegalStateException("expected a request_headers answer, got " + first.getResponseCase());
            }
            List<Map.Entry<String, String>> mutated = mutate(headers, first.getRequestHeaders().getResponse());
            java.io.ByteArrayOutputStream echoed = new java.io.ByteArrayOutputStream(body.length);
            boolean done = body.length == 0;
            while (!done) {
                CommonResponse cr = stream.next(EPP_ANSWER_TIMEOUT).getRequestBody().getResponse();
                cr.getBodyMutation().getStreamedResponse().getBody().writeTo(echoed);
                done = cr.getBodyMutation().getStreamedResponse().getEndOfStream();
            }
            stream.halfClose();
            return new PreRouted(mutated, echoed.toByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (RuntimeException e) {
            stream.cancel("body-based routing failed");
            failures.incrementAndGet();
            sendError(ex, Cause.BODY_ROUTER, 500, Json.openAiError("body-based routing failed: " + e.getMessage(),
                    "server_error", 500));
            return null;
        }
    }

    private static Map<String, String> pseudoHeaders(HttpExchange ex) {
        String authority = ex.getRequestHeaders().getFirst("Host");
        Map<String, String> h = new LinkedHashMap<>();
        h.put(":method", ex.getRequestMethod());
        h.put(":scheme", "http");
        h.put(":authority", authority == null ? "localhost" : authority);
        h.put(":path", ex.getRequestURI().getRawPath()
                + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()));
        return h;
    }

    private String modelsJson() {
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        int i = 0;
        for (Map.Entry<String, String> e : baseModelByModel.entrySet()) {
            if (i++ > 0) {
                sb.append(',');
            }
            sb.append("{\"id\":").append(Json.quote(e.getKey())).append(",\"object\":\"model\",\"owned_by\":")
                    .append(Json.quote(e.getValue())).append('}');
        }
        return sb.append("]}").toString();
    }

    /** The pre-routing transformation: {@code {map}[string(json(request.body).model)]}; null if it fails. */
    String bodyBasedRouting(byte[] body) {
        String model = modelOf(body);
        return model == null ? null : baseModelByModel.get(model);
    }

    private static String modelOf(byte[] body) {
        return Json.topLevelString(body, "model");
    }

    private static String balance(Route r) {
        List<String> eps = r.pool.endpoints();
        Pool.Balanced b = (Pool.Balanced) r.pool.routing();
        if (b.policy() == Pool.Policy.ROUND_ROBIN) {
            return eps.get(Math.floorMod(r.next.getAndIncrement(), eps.size()));
        }
        synchronized (r.random) {
            return eps.get(r.random.nextInt(eps.size()));
        }
    }

    private void proxyDirect(HttpExchange ex, Pool pool, String dest, List<Map.Entry<String, String>> headers,
                             byte[] body, long arrival) throws IOException {
        String routingMicros = Long.toString((System.nanoTime() - arrival) / 1000);
        HttpResponse<InputStream> resp = callUpstream(ex, dest, headers, body);
        if (resp == null) {
            return;
        }
        count(dest);
        Map<String, String> extra = Map.of(POOL_HEADER, pool.name(), SERVED_HEADER, dest, ROUTING_TIME_HEADER,
                routingMicros);
        copyResponseHeaders(ex, resp, extra, List.of());
        ex.sendResponseHeaders(resp.statusCode(), 0);
        try (InputStream in = resp.body(); OutputStream out = ex.getResponseBody()) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        }
    }

    private void count(String dest) {
        servedByEndpoint.computeIfAbsent(dest, k -> new AtomicLong()).incrementAndGet();
    }

    /**
     * Sends the request upstream; on a connection failure answers 503 to the client, on a timeout 504, and returns
     * null.
     */
    private HttpResponse<InputStream> callUpstream(HttpExchange ex, String dest, List<Map.Entry<String, String>> headers,
                                                   byte[] body) throws IOException {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create("http://" + dest + ex.getRequestURI().getRawPath()
                        + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery())))
                .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, String> h : headers) {
            if (!h.getKey().startsWith(":") && !HOP_BY_HOP.contains(h.getKey())) {
                try {
                    rb.header(h.getKey(), h.getValue());
                } catch (IllegalArgumentException restricted) {
                    // The JDK client refuses a few headers it manages itself; they do not matter upstream.
                }
            }
        }
        Duration timeout = upstreamTimeout;
        if (timeout != null) {
            rb.timeout(timeout);
        }
        try {
            return upstream.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (java.net.http.HttpTimeoutException e) {
            failures.incrementAndGet();
            sendError(ex, Cause.UPSTREAM_TIMEOUT, 504, Json.openAiError("upstream request timeout: " + dest,
                    "server_error", 504));
            return null;
        } catch (IOException e) {
            failures.incrementAndGet();
            sendError(ex, Cause.UPSTREAM_CONNECT, 503, Json.openAiError("upstream connect error or disconnect before"
                    + " headers: " + dest + ": " + e, "server_error", 503));
            return null;
        }
    }

    private static void copyResponseHeaders(HttpExchange ex, HttpResponse<?> resp, Map<String, String> extra,
                                            List<HeaderValueOption> mutations) {
        resp.headers().map().forEach((k, vs) -> {
            String key = k.toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(key) && !key.startsWith(":") && !key.equals("date")) {
                vs.forEach(v -> ex.getResponseHeaders().add(key, v));
            }
        });
        for (HeaderValueOption o : mutations) {
            String key = o.getHeader().getKey().toLowerCase(Locale.ROOT);
            if (!key.startsWith(":") && !HOP_BY_HOP.contains(key)) {
                ex.getResponseHeaders().set(key, Messages.headerValue(o.getHeader()));
            }
        }
        extra.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    }

    /** An error answer of the gateway's own, counted by cause and named in {@link #CAUSE_HEADER}. */
    private void sendError(HttpExchange ex, Cause cause, int status, String json) throws IOException {
        answeredByCause.computeIfAbsent(cause, k -> new AtomicLong()).incrementAndGet();
        sendJson(ex, status, json, Map.of(CAUSE_HEADER, cause.label()));
    }

    private static void sendJson(HttpExchange ex, int status, String json, Map<String, String> extra)
            throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("content-type", "application/json");
        extra.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    /** The headers after a headers answer's mutation (removals, then sets honouring the append action). */
    private static List<Map.Entry<String, String>> mutate(List<Map.Entry<String, String>> in, CommonResponse cr) {
        List<Map.Entry<String, String>> out = new ArrayList<>(in);
        for (String removed : cr.getHeaderMutation().getRemoveHeadersList()) {
            out.removeIf(e -> e.getKey().equalsIgnoreCase(removed));
        }
        for (HeaderValueOption o : cr.getHeaderMutation().getSetHeadersList()) {
            String key = o.getHeader().getKey().toLowerCase(Locale.ROOT);
            boolean append = o.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                    && !o.hasAppend() || (o.hasAppend() && o.getAppend().getValue());
            if (!append || o.getAppendAction() == HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD) {
                out.removeIf(e -> e.getKey().equals(key));
            }
            out.add(Map.entry(key, Messages.headerValue(o.getHeader())));
        }
        // Full-duplex mode: the body length may change, so the upstream never gets the client's length.
        out.removeIf(e -> e.getKey().equals("content-length"));
        return out;
    }

    /** One HTTP request's ext_proc stream, driven in the dialect's order. */
    private final class Exchange {
        private final HttpExchange ex;
        private final Route route;
        private final Dialect dialect;
        private final List<Map.Entry<String, String>> headers;
        private final byte[] body;
        private final long arrival;
        private GatewayStream toEpp;
        private boolean clientHeadersSent;

        Exchange(HttpExchange ex, Route route, Dialect dialect, List<Map.Entry<String, String>> headers,
                 byte[] body, long arrival) {
            this.arrival = arrival;
            this.ex = ex;
            this.route = route;
            this.dialect = dialect;
            this.headers = headers;
            this.body = body;
        }

        void run() throws IOException {
            toEpp = route.epps.get(Math.floorMod(route.nextEpp.getAndIncrement(), route.epps.size())).open();
            try {
                runStream();
            } catch (EppFailure f) {
                failures.incrementAndGet();
                if (!clientHeadersSent) {
                    sendError(ex, f.cause, f.status, Json.openAiError(f.getMessage(), "server_error", f.status));
                }
                toEpp.cancel(f.getMessage());
                return;
            } catch (IOException | RuntimeException e) {
                toEpp.cancel("client gone");
                throw e;
            }
            toEpp.halfClose();
        }

        private void runStream() throws IOException, EppFailure {
            Map<String, String> requestHeaders = pseudoHeaders(ex);
            headers.forEach(h -> requestHeaders.put(h.getKey(), h.getValue()));
            // Body frames go out without waiting for the headers answer, as the gateways stream them.
            toEpp.send(Messages.request(dialect, requestHeaders, body, CLIENT_FRAME_BYTES));
            ProcessingResponse first = next();
            if (first.hasImmediateResponse()) {
                immediate(first.getImmediateResponse());
                return;
            }
            if (!first.hasRequestHeaders()) {
                throw new EppFailure(Cause.EPP_STREAM, 500,
                        "ext_proc failed: expected a request_headers response first, got " + first.getResponseCase());
            }
            String destination = pickDestination(first);
            List<Map.Entry<String, String>> upstreamHeaders = mutate(headers,
                    first.getRequestHeaders().getResponse());
            java.io.ByteArrayOutputStream echoed = new java.io.ByteArrayOutputStream(body.length);
            boolean bodyDone = body.length == 0;
            while (!bodyDone) {
                ProcessingResponse r = next();
                if (r.hasImmediateResponse()) {
                    immediate(r.getImmediateResponse());
                    return;
                }
                if (!r.hasRequestBody()) {
                    throw new EppFailure(Cause.EPP_STREAM, 500,
                            "ext_proc failed: expected a request_body response, got " + r.getResponseCase());
                }
                CommonResponse cr = r.getRequestBody().getResponse();
                if (!cr.getBodyMutation().hasStreamedResponse()) {
                    // agentgateway forwards "the original body", already consumed: the upstream gets nothing more.
                    break;
                }
                cr.getBodyMutation().getStreamedResponse().getBody().writeTo(echoed);
                bodyDone = cr.getBodyMutation().getStreamedResponse().getEndOfStream();
            }
            String routingMicros = Long.toString((System.nanoTime() - arrival) / 1000);
            HttpResponse<InputStream> resp = callUpstream(ex, destination, upstreamHeaders, echoed.toByteArray());
            if (resp == null) {
                clientHeadersSent = true;
                return;
            }
            count(destination);
            Map<String, String> respHeaders = new LinkedHashMap<>();
            respHeaders.put(":status", Integer.toString(resp.statusCode()));
            resp.headers().map().forEach((k, vs) -> vs.forEach(v -> respHeaders.put(k.toLowerCase(Locale.ROOT), v)));
            Metadata metadata = dialect.responseMetadata(destination, destination);
            toEpp.send(Messages.responseHeaders(dialect, respHeaders, false, metadata));
            executor.execute(() -> pumpResponseBody(resp, metadata));
            ProcessingResponse rh = next();
            if (rh.hasImmediateResponse()) {
                immediate(rh.getImmediateResponse());
                return;
            }
            if (!rh.hasResponseHeaders()) {
                throw new EppFailure(Cause.EPP_STREAM, 500,
                        "ext_proc failed: expected a response_headers response, got " + rh.getResponseCase());
            }
            copyResponseHeaders(ex, resp, Map.of(POOL_HEADER, route.pool.name(), SERVED_HEADER, destination,
                            ROUTING_TIME_HEADER, routingMicros),
                    rh.getResponseHeaders().getResponse().getHeaderMutation().getSetHeadersList());
            ex.sendResponseHeaders(resp.statusCode(), 0);
            clientHeadersSent = true;
            try (OutputStream out = ex.getResponseBody()) {
                while (true) {
                    ProcessingResponse r = next();
                    if (!r.hasResponseBody()) {
                        throw new EppFailure(Cause.EPP_STREAM, 500,
                                "ext_proc failed: expected a response_body response, got " + r.getResponseCase());
                    }
                    CommonResponse cr = r.getResponseBody().getResponse();
                    if (!cr.getBodyMutation().hasStreamedResponse()) {
                        break;
                    }
                    cr.getBodyMutation().getStreamedResponse().getBody().writeTo(out);
                    out.flush();
                    if (cr.getBodyMutation().getStreamedResponse().getEndOfStream()) {
                        break;
                    }
                }
            }
        }

        /**
         * Forwards the upstream body to the EPP as it arrives, as a gateway forwards each frame a model server
         * sends: one message per read, and for an SSE stream one message per event, the way a server that flushes
         * every token sends them (the simulator batches its writes to spare sleeps; the EPP must still see every
         * token as its own chunk).
         */
        private void pumpResponseBody(HttpResponse<InputStream> resp, Metadata metadata) {
            boolean sse = resp.headers().firstValue("content-type").orElse("").contains("text/event-stream");
            try (InputStream in = resp.body()) {
                byte[] buf = new byte[16384];
                java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (n == 0) {
                        continue;
                    }
                    if (!sse) {
                        forward(ByteString.copyFrom(buf, 0, n), false, metadata);
                        continue;
                    }
                    pending.write(buf, 0, n);
                    byte[] held = pending.toByteArray();
                    int start = 0;
                    for (int i = 1; i < held.length; i++) {
                        if (held[i] == '\n' && held[i - 1] == '\n') {
                            forward(ByteString.copyFrom(held, start, i + 1 - start), false, metadata);
                            start = i + 1;
                        }
                    }
                    pending.reset();
                    pending.write(held, start, held.length - start);
                }
                forward(ByteString.copyFrom(pending.toByteArray()), true, metadata);
            } catch (IOException | RuntimeException e) {
                toEpp.cancel("upstream response failed: " + e);
            }
        }

        private void forward(ByteString chunk, boolean endOfStream, Metadata metadata) {
            toEpp.send(Messages.responseBody(chunk, endOfStream, metadata));
            responseChunks.incrementAndGet();
        }

        private String pickDestination(ProcessingResponse headersAnswer) throws EppFailure {
            String dest;
            try {
                dest = dialect.destination(headersAnswer);
            } catch (IllegalArgumentException e) {
                throw new EppFailure(Cause.EPP_INVALID_DESTINATION, 503, e.getMessage());
            }
            if (!route.pool.endpoints().contains(dest)) {
                throw new EppFailure(Cause.EPP_INVALID_DESTINATION, 503, "no healthy endpoints: " + dest
                        + " is not an endpoint of pool " + route.pool.name());
            }
            return dest;
        }

        private void immediate(ImmediateResponse ir) throws IOException {
            int status = ir.hasStatus() && ir.getStatus().getCodeValue() > 0 ? ir.getStatus().getCodeValue() : 200;
            if (status >= 400) {
                shed.incrementAndGet();
                answeredByCause.computeIfAbsent(Cause.EPP_REFUSED, k -> new AtomicLong()).incrementAndGet();
                ex.getResponseHeaders().set(CAUSE_HEADER, Cause.EPP_REFUSED.label());
            }
            for (HeaderValueOption o : ir.getHeaders().getSetHeadersList()) {
                ex.getResponseHeaders().set(o.getHeader().getKey(), Messages.headerValue(o.getHeader()));
            }
            byte[] b = ir.getBody().toByteArray();
            ex.getResponseHeaders().set(POOL_HEADER, route.pool.name());
            ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
            if (b.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(b);
                }
            }
            clientHeadersSent = true;
        }

        private ProcessingResponse next() throws EppFailure {
            try {
                return toEpp.next(EPP_ANSWER_TIMEOUT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EppFailure(Cause.EPP_STREAM, 500, "ext_proc failed: interrupted");
            } catch (GatewayStream.NoAnswerException e) {
                throw new EppFailure(Cause.EPP_STREAM, e.status() == null ? 504 : 500,
                        "ext_proc failed: " + e.getMessage());
            }
        }
    }

    private static final class EppFailure extends Exception {
        final Cause cause;
        final int status;

        EppFailure(Cause cause, int status, String message) {
            super(message);
            this.cause = cause;
            this.status = status;
        }
    }
}
