package io.epp4j.bench.scoreboard;

import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.KvEvent;
import io.epp4j.bench.sim.KvEventCodec;
import io.epp4j.bench.sim.Seq;
import io.epp4j.bench.sim.SimTokenizer;
import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.Arrival;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.precise.PrecisePrefixCacheProducer;
import io.epp4j.epp.precise.PrecisePrefixCacheScorer;
import io.epp4j.epp.precise.TokenProducer;
import io.epp4j.epp.request.InvalidRequestException;
import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.epp.request.OpenAiRequestParser;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.scrape.EngineConfig;
import io.epp4j.epp.scrape.EngineMapping;
import io.epp4j.epp.scrape.Extraction;
import io.epp4j.epp.scrape.PrefixCacheRate;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginFactory;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.ResponseUsage;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An epp4j EPP as a router of the fleet simulation: the EPP's own config loader, plugins, scheduling engine,
 * endpoint store and director, on a clock that follows simulated time. Every {@code tick} it scrapes each pod's
 * vLLM {@code /metrics} text through the EPP's own Prometheus parser and vLLM mapping (GAIE's 50 ms refresh by
 * default); each request is parsed from its JSON body by the EPP's parser, routed by the director, and followed to
 * every streamed token and its usage at the end, as the ext_proc stream would tell the EPP. Only the gRPC
 * transport is left out: a decision takes no simulated time.
 *
 * <p>With a precise prefix index in the config ({@code precise-prefix-cache-producer} or
 * {@code precise-prefix-cache-scorer}), each pod's KV events reach its subscriber as vLLM's msgpack batches with
 * their sequence numbers, at the simulated time the pod's step ended, on this thread (no ZMQ); {@code token-producer}
 * tokenizes with the simulator's own tokenizer, which is what the pods' render endpoints answer. {@link KvEventDrop}
 * silences some pods' events part-way, as the replay's {@code --drop-kv-events} does.
 */
final class EppRouter implements FleetSimulation.Router, AutoCloseable {

    /** The simulation's time as a clock and ticker for the EPP (wall time starts at an arbitrary epoch). */
    static final class SimClock extends Clock {
        private static final long EPOCH_MILLIS = 1_700_000_000_000L;
        private long nanos;

        void set(long simNanos) {
            this.nanos = simNanos;
        }

        long nanos() {
            return nanos;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public long millis() {
            return EPOCH_MILLIS + nanos / 1_000_000;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }
    }

    static final String ROLE_LABEL = "llm-d.ai/role";
    static final String PREFILLER_HEADER = "x-prefiller-host-port";

    private final SimClock clock = new SimClock();
    private final EndpointStore store = new EndpointStore();
    private final SchedulingEngine engine;
    private final Director director;
    private final EngineMapping mapping = EngineMapping.compile(EngineConfig.builtIns().get(EngineConfig.VLLM));
    private final Extraction extraction = mapping.parser().newExtraction();
    private final List<EndpointInfo> endpoints = new ArrayList<>();
    private final PrefixCacheRate[] rates;
    private final Map<String, Integer> podByName = new HashMap<>();
    private final Map<Integer, Exchange> open = new HashMap<>();
    private final long scrapeNanos;
    private final List<PrecisePrefixCacheProducer> precise = new ArrayList<>();
    private final long[] kvSeq;
    private final KvEventDrop drop;
    /** The prompt being routed: the director decides within {@link #route}, on this thread. */
    private String routing = "";
    /** Each pod's base model, the model of its KV-event topic (known from the first request on). */
    private String[] podModels;

    /**
     * Pods {@code 0 .. pods-1} stop publishing KV events at {@code fromNanos} of simulated time.
     */
    record KvEventDrop(int pods, long fromNanos) {
        static final KvEventDrop NONE = new KvEventDrop(0, Long.MAX_VALUE);
    }

    /**
     * @param configYaml an EndpointPickerConfig
     * @param pods pods of the fleet, in order
     * @param scrapeNanos the EPP's metrics refresh interval in simulated time
     */
    EppRouter(String configYaml, String configName, int pods, long seed, long scrapeNanos) throws ConfigException {
        this(configYaml, configName, pods, seed, scrapeNanos, KvEventDrop.NONE);
    }

    EppRouter(String configYaml, String configName, int pods, long seed, long scrapeNanos, KvEventDrop drop)
            throws ConfigException {
        this(configYaml, configName, java.util.Collections.nCopies(pods, null), seed, scrapeNanos, drop);
    }

    /**
     * @param roles each pod's {@code llm-d.ai/role} label (null: no label), in fleet order
     * @param drop pods whose KV events stop reaching the EPP
     */
    EppRouter(String configYaml, String configName, List<String> roles, long seed, long scrapeNanos, KvEventDrop drop)
            throws ConfigException {
        int pods = roles.size();
        this.scrapeNanos = scrapeNanos;
        this.drop = drop;
        this.kvSeq = new long[pods];
        PluginRegistry registry = PluginRegistry.standard();
        for (String type : List.of(TokenProducer.TYPE, TokenProducer.ALIAS)) {
            registry = registry.replacing(PluginFactory.of(type, (n, p, c) -> new TokenProducer(n,
                    request -> SimTokenizer.encode(routing), c)));
        }
        ConfigLoader loader = new ConfigLoader(registry,
                new PluginEnvironment(clock, clock::nanos, seed, PluginMetrics.NONE));
        this.engine = new SchedulingEngine(loader.load(configYaml, configName), new PrometheusRegistry(), clock,
                clock::nanos, 256);
        for (Plugin p : engine.config().plugins().values()) {
            if (p instanceof PrecisePrefixCacheProducer producer) {
                precise.add(producer);
            } else if (p instanceof PrecisePrefixCacheScorer scorer) {
                precise.add(scorer.producer());
            }
        }
        this.rates = new PrefixCacheRate[pods];
        for (int i = 0; i < pods; i++) {
            String ip = "10.0." + (i / 250) + "." + (i % 250 + 1);
            EndpointInfo info = roles.get(i) == null ? EndpointInfo.ofAddress(ip, 8000)
                    : new EndpointInfo(ip + ":8000", "", "", ip, 8000, Map.of(ROLE_LABEL, roles.get(i)));
            endpoints.add(info);
            podByName.put(info.name(), i);
            rates[i] = new PrefixCacheRate();
        }
        store.replaceAll(endpoints);
        store.setSynced(true);
        for (PrecisePrefixCacheProducer producer : precise) {
            for (EndpointInfo info : endpoints) {
                producer.subscriber().follow(info.hostPort());
            }
        }
        this.director = Director.builder(store, engine).random(new java.util.Random(seed)).ticker(clock::nanos)
                .build();
    }

    @Override
    public long tickNanos() {
        return scrapeNanos;
    }

    @Override
    public void tick(long nowNanos, FleetSimulation.Fleet fleet) {
        clock.set(nowNanos);
        knowFleet(fleet);
        for (int i = 0; i < endpoints.size(); i++) {
            byte[] text = fleet.metricsText(i, nowNanos).getBytes(StandardCharsets.UTF_8);
            mapping.parser().parse(text, text.length, extraction);
            String name = endpoints.get(i).name();
            EndpointMetrics m = mapping.toMetrics(extraction, store.get(name).metrics(), rates[i], clock.millis());
            if (m != null) {
                store.updateMetrics(name, m);
            }
        }
    }

    @Override
    public boolean wantsKvEvents() {
        return !precise.isEmpty();
    }

    @Override
    public void kvEvents(int pod, List<KvEvent> batch, long atNanos) {
        if (pod < drop.pods() && atNanos >= drop.fromNanos()) {
            return;
        }
        clock.set(atNanos);
        EndpointInfo info = endpoints.get(pod);
        byte[] payload = KvEventCodec.encode(clock.millis() / 1000.0, batch, KvEventCodec.Encoding.MAP);
        String topic = "kv@" + info.hostPort() + "@" + podModels[pod];
        long seq = kvSeq[pod]++;
        for (PrecisePrefixCacheProducer producer : precise) {
            producer.subscriber().deliver(info.hostPort(), topic, seq, payload);
        }
    }

    /**
     * Learns the pods' served models (the KV-event topics name them). Called before this router routes or scrapes,
     * and by {@link ReplicatedRouter} for every replica before any routes: a replica that has not routed yet still
     * hears the events of the others' picks.
     */
    void knowFleet(FleetSimulation.Fleet fleet) {
        if (podModels == null) {
            podModels = new String[fleet.size()];
            for (int i = 0; i < podModels.length; i++) {
                podModels[i] = fleet.pod(i).config().model();
            }
        }
    }

    /** The precise indexes' state (empty without one). */
    List<PreciseIndexStatus.Snapshot> preciseStatus() {
        return precise.stream().map(PrecisePrefixCacheProducer::status).toList();
    }

    @Override
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        clock.set(nowNanos);
        routing = arrival.prompt();
        knowFleet(fleet);
        byte[] body = ("{\"model\":\"" + arrival.model() + "\",\"prompt\":\"" + arrival.prompt()
                + "\",\"max_tokens\":" + arrival.outputTokens()
                + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}").getBytes(StandardCharsets.UTF_8);
        ParsedRequest parsed;
        try {
            parsed = OpenAiRequestParser.parse(ApiType.COMPLETIONS, body, body.length);
        } catch (InvalidRequestException e) {
            throw new IllegalArgumentException("the workload's request does not parse: " + e.getMessage(), e);
        }
        Arrival headers = new Arrival(Map.of(":path", "/v1/completions", Director.REQUEST_ID, "req-" + index), null,
                nowNanos);
        try {
            Exchange exchange = director.decide(parsed, headers);
            open.put(index, exchange);
            return podByName.get(exchange.primary().info().name());
        } catch (InferenceError e) {
            return -1;
        }
    }

    /**
     * The pod the EPP named in {@code x-prefiller-host-port} for request {@code index}, as the decode pod's sidecar
     * reads it.
     */
    @Override
    public int prefillPod(int index) {
        Exchange exchange = open.get(index);
        String prefiller = exchange == null ? null : exchange.upstreamHeaders().sets().get(PREFILLER_HEADER);
        if (prefiller == null) {
            return NO_PREFILL;
        }
        Integer pod = podByName.get(prefiller);
        return pod == null ? UNKNOWN_PREFILLER : pod;
    }

    /** The scheduling decision of request {@code index} (null when it was not scheduled). */
    io.epp4j.epp.scheduling.Decision decision(int index) {
        return engine.decisions().forRequest("req-" + index);
    }

    @Override
    public void firstToken(int index, int pod, long atNanos) {
        streamToken(index, atNanos);
    }

    @Override
    public void token(int index, int pod, long atNanos) {
        streamToken(index, atNanos);
    }

    /** One streamed token reaches the EPP as the response body chunk vLLM sends for it. */
    private void streamToken(int index, long atNanos) {
        Exchange exchange = open.get(index);
        if (exchange == null) {
            return;
        }
        clock.set(atNanos);
        byte[] chunk = ("data: {\"id\":\"cmpl-" + index + "\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,"
                + "\"text\":\" the\",\"finish_reason\":null}]}\n\n").getBytes(StandardCharsets.UTF_8);
        exchange.onResponseBody(ByteSlice.of(chunk), false);
    }

    @Override
    public void finished(int index, int pod, Seq seq, int status, long atNanos) {
        Exchange exchange = open.remove(index);
        if (exchange == null) {
            return;
        }
        clock.set(atNanos);
        ResponseUsage usage = seq == null ? ResponseUsage.NONE : new ResponseUsage(seq.promptTokens(),
                seq.generated(), seq.cachedTokens(), seq.promptTokens() + seq.generated());
        exchange.onResponseBody(ByteSlice.of("data: [DONE]\n\n"), true);
        exchange.complete(usage, status == 200);
    }

    @Override
    public void close() {
        engine.close();
    }
}
