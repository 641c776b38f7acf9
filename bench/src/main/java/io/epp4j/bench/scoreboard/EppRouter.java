package io.epp4j.bench.scoreboard;

import io.epp4j.bench.sim.FleetSimulation;
import io.epp4j.bench.sim.Seq;
import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.Arrival;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
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

    /**
     * @param configYaml an EndpointPickerConfig
     * @param pods pods of the fleet, in order
     * @param scrapeNanos the EPP's metrics refresh interval in simulated time
     */
    EppRouter(String configYaml, String configName, int pods, long seed, long scrapeNanos) throws ConfigException {
        this.scrapeNanos = scrapeNanos;
        ConfigLoader loader = new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(clock, clock::nanos, seed, PluginMetrics.NONE));
        this.engine = new SchedulingEngine(loader.load(configYaml, configName), new PrometheusRegistry(), clock,
                clock::nanos, 256);
        this.rates = new PrefixCacheRate[pods];
        for (int i = 0; i < pods; i++) {
            EndpointInfo info = EndpointInfo.ofAddress("10.0." + (i / 250) + "." + (i % 250 + 1), 8000);
            endpoints.add(info);
            podByName.put(info.name(), i);
            rates[i] = new PrefixCacheRate();
        }
        store.replaceAll(endpoints);
        store.setSynced(true);
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
    public int route(int index, FleetSimulation.Arrival arrival, long nowNanos, FleetSimulation.Fleet fleet) {
        clock.set(nowNanos);
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
