package io.epp4j.bench.stack;

import io.epp4j.bench.cli.Flags;
import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.sim.KvTransfer;
import io.epp4j.bench.sim.EngineModel;
import io.epp4j.bench.sim.SimConfig;
import io.epp4j.bench.sim.SimFlags;
import io.epp4j.bench.sim.StepProfile;
import io.epp4j.bench.sim.SimFleet;
import io.epp4j.bench.sim.SimServer;
import io.epp4j.gatewaykit.Dialect;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one-command local stack: two InferencePools of simulated vLLM pods (Qwen/Qwen3-0.6B with a LoRA adapter,
 * and TinyLlama/TinyLlama-1.1B-Chat-v1.0), one epp4j EPP per pool in static-endpoints mode, and the gateway
 * simulator in front, as in GAIE's "serving multiple inference pools" walkthrough.
 */
public final class LocalStack implements AutoCloseable {

    public static final String QWEN = "Qwen/Qwen3-0.6B";
    public static final String QWEN_LORA = "food-review-1";
    public static final String TINYLLAMA = "TinyLlama/TinyLlama-1.1B-Chat-v1.0";
    public static final String UNKNOWN_MODEL = "gpt-4o";

    private final List<SimFleet> fleets = new ArrayList<>();
    private final List<EmbeddedEpp> epps = new ArrayList<>();
    private EmbeddedBbr bbr;
    private GatewaySim gateway;
    private final Map<String, String> podByAddress = new LinkedHashMap<>();
    private final Map<String, String> poolByAddress = new LinkedHashMap<>();

    private boolean pd;

    private LocalStack() {
    }

    /** {@code bench/configs/pd.yaml} of the checkout the stack runs in, found from the working directory up. */
    static java.nio.file.Path pdConfig() {
        for (java.nio.file.Path p = java.nio.file.Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            java.nio.file.Path f = p.resolve("bench/configs/pd.yaml");
            if (java.nio.file.Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalArgumentException("--pd needs bench/configs/pd.yaml: run the stack from an epp4j checkout");
    }

    /** Prefill pods of the Qwen pool under {@code --pd}: half of them, at least one. */
    public static int prefillPods(int pods) {
        return Math.max(1, pods / 2);
    }

    /**
     * Starts everything; {@code port = 0} picks an ephemeral gateway port.
     *
     * @param useEpp false to balance round-robin in the gateway instead of asking an EPP
     */
    public static LocalStack start(int port, int pods, boolean tls, boolean useEpp, long seed, PrintStream log)
            throws Exception {
        return start(port, pods, tls, useEpp, seed, SimFlags.DEFAULT_ENGINE, log);
    }

    /** The same with the simulated pods' engine model ({@code --engine-model}). */
    public static LocalStack start(int port, int pods, boolean tls, boolean useEpp, long seed, EngineModel engine,
                                   PrintStream log) throws Exception {
        return start(port, pods, tls, useEpp, false, seed, engine, log);
    }

    /**
     * The same, and with {@code bodyRouter} epp4j's body-based router ({@code --mode bbr}) in front of route
     * matching, fed the stack's model map as a {@code --base-model-map} file, instead of the gateway's built-in
     * map (an Envoy-based gateway's set-up instead of agentgateway's).
     */
    public static LocalStack start(int port, int pods, boolean tls, boolean useEpp, boolean bodyRouter, long seed,
                                   EngineModel engine, PrintStream log) throws Exception {
        return start(port, pods, tls, useEpp, bodyRouter, false, seed, engine, log);
    }

    /**
     * The same, and with {@code pd} the Qwen pool disaggregated: its first {@link #prefillPods} pods labelled
     * {@code llm-d.ai/role=prefill}, the others {@code decode}, its EPP running {@code bench/configs/pd.yaml}; each
     * pod's sidecar prefills on the pod the EPP names in {@code x-prefiller-host-port}. Needs the step engine.
     */
    public static LocalStack start(int port, int pods, boolean tls, boolean useEpp, boolean bodyRouter, boolean pd,
                                   long seed, EngineModel engine, PrintStream log) throws Exception {
        if (pd && (engine != EngineModel.STEP || pods < 2 || !useEpp)) {
            throw new IllegalArgumentException("--pd needs the step engine model, at least 2 pods and the EPP");
        }
        LocalStack s = new LocalStack();
        s.pd = pd;
        try {
            s.startAll(port, pods, tls, useEpp, bodyRouter, seed, engine, log);
        } catch (Exception e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void startAll(int port, int pods, boolean tls, boolean useEpp, boolean bodyRouter, long seed,
                          EngineModel engine, PrintStream log) throws Exception {
        record PoolSpec(String name, SimConfig config) {
        }
        List<PoolSpec> specs = List.of(
                new PoolSpec("vllm-qwen3-0-6b", SimConfig.forModel(QWEN, engine, StepProfile.H100_8B).withSeed(seed)
                        .withLoras(List.of(QWEN_LORA), 2)),
                new PoolSpec("vllm-tinyllama-1-1b", SimConfig.forModel(TINYLLAMA, engine, StepProfile.H100_8B)
                        .withSeed(seed + 100)));
        List<Pool> pools = new ArrayList<>();
        Map<String, String> bbr = new LinkedHashMap<>();
        for (PoolSpec spec : specs) {
            SimFleet fleet = SimFleet.start(spec.config(), spec.name(), pods, 0);
            fleets.add(fleet);
            for (SimServer srv : fleet.servers()) {
                podByAddress.put(srv.hostPort(), srv.podName());
                poolByAddress.put(srv.hostPort(), spec.name());
                log.printf("  pod %-24s %-40s http://%s%n", srv.podName(), spec.config().model(), srv.hostPort());
            }
            Pool.Routing routing;
            boolean disaggregated = pd && spec.config().model().equals(QWEN);
            if (disaggregated) {
                Map<String, String> roles = new LinkedHashMap<>();
                for (int i = 0; i < fleet.servers().size(); i++) {
                    SimServer srv = fleet.servers().get(i);
                    String role = i < prefillPods(pods) ? "prefill" : "decode";
                    srv.setDisaggregation(role, KvTransfer.DEFAULT);
                    roles.put(srv.hostPort(), role);
                    log.printf("  pod %-24s llm-d.ai/role=%s%n", srv.podName(), role);
                }
                EmbeddedEpp epp = EmbeddedEpp.startWithRoles(roles, tls, pdConfig().toString());
                epps.add(epp);
                routing = new Pool.ViaEpp("127.0.0.1", epp.grpcPort(), tls, Dialect.AGENTGATEWAY);
                log.printf("  EPP for pool %-20s P/D (bench/configs/pd.yaml) ext_proc %s127.0.0.1:%d, metrics"
                        + " http://127.0.0.1:%d/metrics%n", spec.name(), tls ? "(TLS) " : "", epp.grpcPort(),
                        epp.metricsPort());
            } else if (useEpp) {
                EmbeddedEpp epp = EmbeddedEpp.start(fleet.addresses(), tls, null);
                epps.add(epp);
                routing = new Pool.ViaEpp("127.0.0.1", epp.grpcPort(), tls, Dialect.AGENTGATEWAY);
                log.printf("  EPP for pool %-20s ext_proc %s127.0.0.1:%d, metrics http://127.0.0.1:%d/metrics,"
                        + " dashboard http://127.0.0.1:%d/%n", spec.name(), tls ? "(TLS) " : "", epp.grpcPort(),
                        epp.metricsPort(), epp.metricsPort());
            } else {
                routing = new Pool.Balanced(Pool.Policy.ROUND_ROBIN, seed);
                log.printf("  pool %-20s balanced round-robin by the gateway (no EPP)%n", spec.name());
            }
            pools.add(new Pool(spec.name(), spec.config().model(), fleet.addresses(), routing));
            bbr.put(spec.config().model(), spec.config().model());
            spec.config().loras().forEach(l -> bbr.put(l, spec.config().model()));
        }
        if (bodyRouter) {
            this.bbr = EmbeddedBbr.start(bbr, tls);
            gateway = GatewaySim.withBodyRouter(port, this.bbr.client(), bbr, pools);
            log.printf("  body-based router (epp4j --mode bbr) ext_proc %s127.0.0.1:%d, map %s, metrics "
                    + "http://127.0.0.1:%d/metrics%n", tls ? "(TLS) " : "", this.bbr.grpcPort(), this.bbr.mapFile(),
                    this.bbr.metricsPort());
            log.printf("  gateway (Envoy profile: body-based router first, then routes) on http://127.0.0.1:%d%n",
                    gateway.port());
        } else {
            gateway = GatewaySim.start(port, bbr, pools);
            log.printf("  gateway (agentgateway profile) on http://127.0.0.1:%d%n", gateway.port());
        }
    }

    public int gatewayPort() {
        return gateway.port();
    }

    /** The body-based router's /metrics port, or -1 when the gateway's built-in map routes. */
    public int bodyRouterMetricsPort() {
        return bbr == null ? -1 : bbr.metricsPort();
    }

    public GatewaySim gateway() {
        return gateway;
    }

    public List<SimFleet> fleets() {
        return fleets;
    }

    /** Pod name of a pod address, e.g. {@code vllm-qwen3-0-6b-1}. */
    public String podOf(String address) {
        return podByAddress.getOrDefault(address, address);
    }

    @Override
    public void close() {
        if (gateway != null) {
            gateway.close();
        }
        if (bbr != null) {
            bbr.close();
        }
        for (EmbeddedEpp e : epps) {
            try {
                e.close();
            } catch (Exception ignored) {
                // Shutting down anyway.
            }
        }
        fleets.forEach(SimFleet::close);
    }

    /** What one demo request got back. */
    public record DemoResult(String curl, int status, String pool, String pod, String body) {
    }

    /** The walkthrough's three requests: Qwen chat, TinyLlama chat, an unknown model. */
    public List<DemoResult> seedRequests() throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        List<DemoResult> out = new ArrayList<>();
        String[][] requests = {
            {"/v1/chat/completions", "{\"model\":\"" + QWEN + "\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],\"max_tokens\":16}"},
            {"/v1/chat/completions", "{\"model\":\"" + TINYLLAMA + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a joke\"}],\"max_tokens\":16}"},
            {"/v1/chat/completions", "{\"model\":\"" + UNKNOWN_MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"}};
        for (String[] r : requests) {
            String curl = "curl -s http://localhost:" + gatewayPort() + r[0] + " -H 'Content-Type: application/json' -d '" + r[1] + "'";
            HttpResponse<String> resp = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort() + r[0]))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(r[1])).build(),
                    HttpResponse.BodyHandlers.ofString());
            out.add(new DemoResult(curl, resp.statusCode(), resp.headers().firstValue(GatewaySim.POOL_HEADER).orElse("-"),
                    resp.headers().firstValue("x-inference-pod").orElse("-"), resp.body()));
        }
        return out;
    }

    /** Sends {@code n} mixed requests (8 at a time) and returns failures. */
    public int demoLoad(int n, long seed, PrintStream out) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String[] models = {QWEN, QWEN_LORA, TINYLLAMA};
        String[] systemPrompts = {"You are a helpful travel agent. ".repeat(40), "You review restaurants. ".repeat(40),
            "You answer questions about Java. ".repeat(40)};
        ExecutorService pool = Executors.newFixedThreadPool(8);
        AtomicInteger failures = new AtomicInteger();
        try {
            List<Future<?>> fs = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(seed);
            for (int i = 0; i < n; i++) {
                String model = models[random.nextInt(models.length)];
                String system = systemPrompts[random.nextInt(systemPrompts.length)];
                boolean stream = random.nextBoolean();
                String body = "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"max_tokens\":" + (8 + random.nextInt(24))
                        + ",\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"question "
                        + i + "\"}]}";
                fs.add(pool.submit(() -> {
                    try {
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                                        URI.create("http://127.0.0.1:" + gatewayPort() + "/v1/chat/completions"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 200) {
                            failures.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failures.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        out.printf("%n%-22s %-26s %9s %9s %14s%n", "pool", "pod", "requests", "errors", "prefix-hit-rate");
        Map<String, Long> served = gateway.servedByEndpoint();
        for (SimFleet fleet : fleets) {
            for (SimServer s : fleet.servers()) {
                var snap = s.snapshot();
                double hit = snap.prefixQueries() == 0 ? 0 : (double) snap.prefixHits() / snap.prefixQueries();
                out.printf("%-22s %-26s %9d %9d %13.1f%%%n", poolByAddress.get(s.hostPort()), s.podName(),
                        served.getOrDefault(s.hostPort(), 0L), s.errors(), hit * 100);
            }
        }
        out.printf("%d requests, %d failed%n", n, failures.get());
        return failures.get();
    }

    /**
     * {@code stack [--port 8080] [--pods 3] [--tls] [--no-epp] [--bbr] [--demo-requests N] [--seed S]
     * [--engine-model step|lanes]}.
     */
    public static int run(String[] args, PrintStream out) throws Exception {
        Flags f = Flags.parse(args, Set.of("port", "pods", "demo-requests", "seed", "engine-model"),
                Set.of("tls", "no-epp", "bbr", "pd"));
        boolean useEpp = !f.bool("no-epp");
        EngineModel engine;
        try {
            engine = EngineModel.parse(f.string("engine-model", SimFlags.DEFAULT_ENGINE.flagValue()));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        out.println("epp4j local stack: starting (simulated pods: " + engine.flagValue() + " engine model)");
        long seed = f.longValue("seed", 42);
        LocalStack stack;
        try {
            stack = start(f.integer("port", 8080), f.integer("pods", 3), f.bool("tls"), useEpp, f.bool("bbr"),
                    f.bool("pd"), seed, engine, out);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        try {
            out.println("\nThe walkthrough's requests:");
            for (DemoResult r : stack.seedRequests()) {
                out.println("$ " + r.curl());
                if (r.status() == 200) {
                    out.printf("  -> %d, served by pool %s, pod %s%n", r.status(), r.pool(), r.pod());
                } else {
                    out.printf("  -> %d (fails as it should: no pool serves this model) %s%n", r.status(), r.body());
                }
            }
            if (f.has("demo-requests")) {
                int failures = stack.demoLoad(f.integer("demo-requests", 100), seed, out);
                stack.close();
                return failures == 0 ? 0 : 1;
            }
        } catch (Exception e) {
            stack.close();
            throw e;
        }
        out.printf("%nReady: send OpenAI requests to http://localhost:%d (Ctrl-C to stop)%n", stack.gatewayPort());
        Flags.awaitShutdown(stack);
        return 0;
    }
}
