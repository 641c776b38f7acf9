package io.epp4j.epp.precise;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.kvevents.KvBlockIndex;
import io.epp4j.epp.kvevents.KvEventDecoder;
import io.epp4j.epp.kvevents.KvEventSubscriber;
import io.epp4j.epp.kvevents.KvEventsConfig;
import io.epp4j.epp.kvevents.PodEventHealth;
import io.epp4j.epp.kvevents.PreciseIndexStatus;
import io.epp4j.epp.kvevents.RequestKeys;
import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.scorers.prefix.PrefixMatchInfo;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ResponseObserver;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.spi.SchedulingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * {@code precise-prefix-cache-producer}, llm-d's: subscribes to the KV events of every endpoint of the pool
 * ({@link KvEventSubscriber}), keeps them in a bounded {@link KvBlockIndex}, and for each request looks up the
 * longest run of its blocks (from {@code token-producer}'s token ids) each endpoint holds, leaving a
 * {@link PrefixMatchInfo} under its name for {@code prefix-cache-scorer} ({@code prefixMatchInfoProducerName}).
 *
 * <p>Fallback, per endpoint: an endpoint whose events cannot be trusted right now (none received yet, stale, or a
 * sequence gap that could not be replayed; see {@link PodEventHealth}) is scored by an
 * approximate prefix index that learns from this EPP's routing decisions, the same as
 * {@code approx-prefix-cache-producer}'s, until its events are healthy again. With {@code fallback.enabled: false}
 * (the {@code precise-no-fallback} profile) every endpoint is scored from the events, stale entries included.
 * The token ids are {@code token-producer}'s, or those the request carried (vLLM's generate {@code token_ids},
 * SGLang's {@code input_ids}, a vLLM gRPC tokenized input), used as they are. A request without token ids is scored
 * approximately on every endpoint. Stale is judged from the requests
 * themselves: one routed with blocks the index does not show on its endpoint must make that endpoint publish
 * them, so once its first response bytes arrive ({@link ResponseObserver}) the endpoint has {@code staleAfter} to
 * have been heard from since the pick; one whose blocks it holds (a full prefix hit) expects nothing.
 *
 * <p>With {@code speculativeIndexing}, the blocks of a routed request are added to the chosen endpoint's entries
 * until its events confirm them or {@code speculativeTTL} passes.
 */
public final class PrecisePrefixCacheProducer extends NamedPlugin
        implements DataProducer, PreRequest, ResponseObserver, EndpointStore.Listener, PreciseIndexStatus,
        AutoCloseable {

    public static final String TYPE = "precise-prefix-cache-producer";
    private static final Logger LOG = LoggerFactory.getLogger(PrecisePrefixCacheProducer.class);
    private static final int DEFAULT_CAPACITY = 4_000_000;

    /** What must be equal for a reloaded producer to keep its predecessor's index and subscriptions. */
    record Settings(int blockSize, int capacity, List<KvBlockIndex.Tier> tiers, KvEventsConfig events,
                    Map<String, Object> approximate) {
    }

    /** The state a reload hands over. */
    private record Shared(KvBlockIndex index, KvEventSubscriber subscriber, ApproxPrefixCacheProducer approximate) {
    }

    /**
     * This producer's own cycle-state entry: what preRequest needs of produce ({@code tokens} null: none;
     * {@code match} null: the request had no token ids; {@code totalBlocks}: the prompt's, where the token ids
     * may cover only its start).
     */
    private record Produced(long root, int[] tokens, PrefixMatch approximate, KvBlockIndex.Match match,
                            int totalBlocks) {
    }

    /** A routed request that must make its endpoint publish blocks once prefilled; reported once. */
    private record StoreDue(PodEventHealth health, long routedNanos, AtomicBoolean reported) {

        void report() {
            if (reported.compareAndSet(false, true)) {
                health.onStoreDue(routedNanos);
            }
        }
    }

    private final Settings settings;
    private final boolean fallback;
    private final boolean speculative;
    private final long speculativeTtlNanos;
    private final int maxBlocks;
    private final LongSupplier ticker;
    private final CycleState.Key<Produced> producedKey;
    private final CycleState.Key<StoreDue> storeDueKey;
    private volatile Shared shared;
    private volatile boolean handedOver;

    public PrecisePrefixCacheProducer(String name, PluginParameters parameters, PluginContext context) {
        this(TYPE, name, parameters, context);
    }

    PrecisePrefixCacheProducer(String type, String name, PluginParameters parameters, PluginContext context) {
        super(type, name);
        PluginParameters tokens = new PluginParameters(parameters.getMap("tokenProcessorConfig"));
        int blockSize = tokens.getInt("blockSizeTokens", tokens.getInt("blockSize", 16));
        if (blockSize <= 0) {
            throw new IllegalArgumentException("parameter 'tokenProcessorConfig.blockSizeTokens' must be > 0");
        }
        PluginParameters indexer = new PluginParameters(parameters.getMap("indexerConfig"));
        if (indexer.has("tokenizersPoolConfig")) {
            throw new IllegalArgumentException("parameter 'indexerConfig.tokenizersPoolConfig' is not supported:"
                    + " declare a token-producer plugin instead");
        }
        PluginParameters blockIndex = new PluginParameters(indexer.getMap("kvBlockIndexConfig"));
        for (String other : List.of("costAwareMemoryConfig", "redisConfig", "valkeyConfig")) {
            if (blockIndex.has(other)) {
                throw new IllegalArgumentException("parameter 'indexerConfig.kvBlockIndexConfig." + other
                        + "' is not supported: epp4j keeps the index in memory (inMemoryConfig)");
            }
        }
        PluginParameters inMemory = new PluginParameters(blockIndex.getMap("inMemoryConfig"));
        long size = inMemory.getLong("size", DEFAULT_CAPACITY);
        if (size <= 0) {
            throw new IllegalArgumentException("parameter 'indexerConfig.kvBlockIndexConfig.inMemoryConfig.size'"
                    + " must be > 0");
        }
        int capacity = (int) Math.min(size, 100_000_000L);
        List<KvBlockIndex.Tier> tiers = tiers(indexer);
        PluginParameters events = new PluginParameters(parameters.getMap("kvEventsConfig"));
        String engine = events.getString("engineType", "vllm");
        if (!engine.equals("vllm")) {
            throw new IllegalArgumentException("parameter 'kvEventsConfig.engineType' must be vllm, got " + engine);
        }
        if (!events.getBoolean("discoverPods", true) || !events.getString("zmqEndpoint", "").isEmpty()) {
            // llm-d's own samples use central mode; starting beats refusing, as long as the operator is told
            LOG.warn("{}: kvEventsConfig central mode (discoverPods: false / zmqEndpoint {}) is accepted but not"
                    + " implemented: epp4j dials each pod's publisher at <pod IP>:podDiscoveryConfig.socketPort, so"
                    + " pods that only connect to a central endpoint send no events and are scored by the fallback",
                    name, events.getString("zmqEndpoint", ""));
        }
        PluginParameters discovery = new PluginParameters(events.getMap("podDiscoveryConfig"));
        PluginParameters fallbackParams = new PluginParameters(parameters.getMap("fallback"));
        KvEventsConfig d = KvEventsConfig.DEFAULT;
        KvEventsConfig eventsConfig = new KvEventsConfig(events.getString("topicFilter", d.topicFilter()),
                discovery.getInt("socketPort", d.socketPort()), discovery.getInt("socketPortOffset", 0),
                discovery.getInt("replaySocketPort", 0), discovery.getInt("replaySocketPortOffset", 0),
                events.getInt("concurrency", d.concurrency()), events.getInt("queueCapacity", d.queueCapacity()),
                events.getDuration("replayTimeout", d.replayTimeout()),
                fallbackParams.getDuration("staleAfter", d.staleAfter()),
                fallbackParams.getBoolean("enabled", true));
        if (eventsConfig.concurrency() <= 0 || eventsConfig.queueCapacity() <= 0) {
            throw new IllegalArgumentException("parameters 'kvEventsConfig.concurrency' and 'queueCapacity' must"
                    + " be > 0");
        }
        this.settings = new Settings(blockSize, capacity, tiers, eventsConfig, parameters.getMap("approximate"));
        this.fallback = eventsConfig.fallback();
        this.speculative = parameters.getBoolean("speculativeIndexing", false);
        this.speculativeTtlNanos = parameters.getDuration("speculativeTTL", Duration.ofSeconds(2)).toNanos();
        this.maxBlocks = parameters.getInt("maxPrefixBlocksToMatch", Integer.MAX_VALUE);
        this.ticker = context.nanoTicker();
        this.producedKey = new CycleState.Key<>("precise-prefix/" + name);
        this.storeDueKey = new CycleState.Key<>("precise-prefix-store-due/" + name);
        if (discovery.has("podLabelSelector") || discovery.has("podNamespace")) {
            LOG.info("{}: podDiscoveryConfig.podLabelSelector/podNamespace are ignored: the EPP follows the"
                    + " endpoints of its pool", name);
        }
        if (inMemory.has("podCacheSize") || tokens.has("hashSeed")) {
            LOG.info("{}: inMemoryConfig.podCacheSize and tokenProcessorConfig.hashSeed are accepted and have no"
                    + " effect (the index bounds (block, pod) entries; its keys never leave the EPP)", name);
        }
        KvBlockIndex index = new KvBlockIndex(capacity, blockSize, tiers);
        var metrics = context.metrics();
        metrics.gauge("epp4j_kv_index_entries", "(block, pod, tier) entries in the precise prefix index",
                () -> shared.index().size());
        metrics.gauge("epp4j_kv_index_evicted_entries", "Entries evicted from the precise prefix index to stay"
                + " within its capacity, since start", () -> shared.index().evictionsTotal());
        metrics.gauge("epp4j_kv_index_parent_unknown_spans", "BlockStored spans dropped since start because their"
                + " parent block was not in the index", () -> shared.index().parentUnknownTotal());
        KvEventSubscriber subscriber = new KvEventSubscriber(eventsConfig, new KvEventDecoder(), index, ticker,
                metrics);
        ApproxPrefixCacheProducer approx = new ApproxPrefixCacheProducer(name + "-approximate",
                new PluginParameters(settings.approximate()), context);
        this.shared = new Shared(index, subscriber, approx);
    }

    private static List<KvBlockIndex.Tier> tiers(PluginParameters indexer) {
        Object raw = indexer.asMap().get("kvCacheBackendConfigs");
        if (raw == null) {
            return List.of(new KvBlockIndex.Tier("gpu", 1.0), new KvBlockIndex.Tier("cpu", 0.8));
        }
        if (!(raw instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("parameter 'indexerConfig.kvCacheBackendConfigs' must be a non-empty"
                    + " list of {name, weight}");
        }
        List<KvBlockIndex.Tier> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("parameter 'indexerConfig.kvCacheBackendConfigs' entries must be"
                        + " {name, weight}");
            }
            @SuppressWarnings("unchecked")
            PluginParameters t = new PluginParameters((Map<String, Object>) m);
            out.add(new KvBlockIndex.Tier(t.getString("name", "gpu").toLowerCase(java.util.Locale.ROOT),
                    t.getDouble("weight", 1.0)));
        }
        // the tier a nil medium means (vLLM's block pool: GPU) first
        out.sort((a, b) -> Boolean.compare(!a.name().equals("gpu"), !b.name().equals("gpu")));
        return List.copyOf(out);
    }

    /** The index, for tests and tools that feed it without ZMQ. */
    public KvBlockIndex index() {
        return shared.index();
    }

    /** The subscriber following the pods. */
    public KvEventSubscriber subscriber() {
        return shared.subscriber();
    }

    @Override
    public Snapshot status() {
        Shared s = shared;
        KvBlockIndex index = s.index();
        Map<String, Pod> pods = new TreeMap<>();
        for (String pod : s.subscriber().podIds()) {
            Pod state = s.subscriber().status(pod, index.sizeOf(pod));
            if (state != null) {
                pods.put(pod, state);
            }
        }
        return new Snapshot(name(), fallback, index.size(), index.capacity(), index.evictionsTotal(),
                index.parentUnknownTotal(), pods);
    }

    @Override
    public boolean takeOver(Plugin predecessor) {
        if (predecessor instanceof PrecisePrefixCacheProducer previous && previous != this
                && previous.settings.equals(settings)) {
            Shared mine = shared;
            shared = previous.shared;
            previous.handedOver = true;
            mine.subscriber().close();
            return true;
        }
        return false;
    }

    @Override
    public void onAdded(EndpointInfo endpoint) {
        shared.subscriber().addPod(endpoint.hostPort(), endpoint.ip(), endpoint.port());
    }

    @Override
    public void onRemoved(EndpointInfo endpoint) {
        Shared s = shared;
        s.subscriber().removePod(endpoint.hostPort());
        s.index().removePod(endpoint.hostPort());
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        Shared s = shared;
        PrefixMatch outer = state.get(PrefixMatch.KEY);
        s.approximate().produce(state, request, endpoints);
        PrefixMatch approx = state.get(PrefixMatch.KEY);
        state.put(PrefixMatch.KEY, outer);

        TokenizedPrompt tokens = state.get(TokenizedPrompt.KEY);
        if (tokens == null && request.promptTokenIds() != null) {
            tokens = new TokenizedPrompt(request.promptTokenIds()); // the request carried them, no token-producer
        }
        long root = RequestKeys.root(request.targetModel());
        KvBlockIndex.Match match = null;
        if (tokens != null) {
            match = s.index().match(root, tokens.tokenIds(), tokens.tokenIds().length, maxBlocks);
        }
        int blocks = match == null ? 0 : match.blocks();
        // the prompt's blocks, counting those past token ids that cover only its start
        int totalBlocks = blocks == 0 ? 0 : Math.max(blocks, (int) Math.min(maxBlocks,
                (long) tokens.totalTokens() / s.index().blockSizeTokens()));
        int n = endpoints.size();
        double[] ratios = new double[n];
        Map<String, Double> byEndpoint = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(i);
            String pod = e.hostPort();
            if (!s.subscriber().subscribed(pod)) {
                s.subscriber().addPod(pod, e.info().ip(), e.info().port());
            }
            boolean precise = blocks > 0;
            if (precise && fallback) {
                PodEventHealth health = s.subscriber().health(pod);
                precise = health != null && health.precise();
            }
            if (precise) {
                ratios[i] = match.weightedBlocks(pod) / totalBlocks;
            } else if (approx != null && approx.blockCount() > 0) {
                ratios[i] = (double) approx.matchedBlocks(e) / approx.blockCount();
            }
            byEndpoint.put(e.info().name(), ratios[i]);
        }
        int total = blocks > 0 ? totalBlocks : approx == null ? 0 : approx.blockCount();
        state.put(PrefixMatchInfo.keyFor(name()), new Info(total, Map.copyOf(byEndpoint)));
        state.put(producedKey, new Produced(root, blocks > 0 ? tokens.tokenIds() : null, approx, match,
                totalBlocks));
    }

    /** Matched share per endpoint name, expressed in the request's blocks. */
    private record Info(int totalBlocks, Map<String, Double> ratios) implements PrefixMatchInfo {
        @Override
        public double matchedBlocks(Endpoint endpoint) {
            return ratios.getOrDefault(endpoint.info().name(), 0.0) * totalBlocks;
        }
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        Shared s = shared;
        Produced produced = state.get(producedKey);
        if (produced != null) {
            PrefixMatch outer = state.get(PrefixMatch.KEY);
            state.put(PrefixMatch.KEY, produced.approximate());
            s.approximate().preRequest(state, request, result);
            state.put(PrefixMatch.KEY, outer);
        }
        Endpoint target = result.primary();
        if (target == null) {
            return;
        }
        long now = ticker.getAsLong();
        PodEventHealth health = s.subscriber().health(target.hostPort());
        KvBlockIndex.Match match = produced == null ? null : produced.match();
        // without token ids nothing says what the endpoint already holds: count on it storing something
        if (health != null && (match == null
                || match.matchedBlocks(target.hostPort()) < Math.max(match.blocks(), produced.totalBlocks()))) {
            state.put(storeDueKey, new StoreDue(health, now, new AtomicBoolean()));
        }
        if (speculative && produced != null && produced.tokens() != null) {
            // the lookup hashed only as far as some pod matched: the routed pod gets every block
            int[] ids = produced.tokens();
            long[] keys = RequestKeys.keys(produced.root(), ids, ids.length, s.index().blockSizeTokens(), maxBlocks);
            s.index().addSpeculative(target.hostPort(), keys, keys.length, now + speculativeTtlNanos);
        }
        s.index().expireSpeculative(now);
    }

    @Override
    public void onResponseBody(CycleState state, InferenceRequest request, Endpoint target, ByteSlice chunk,
                               boolean endOfStream) {
        // the first token comes after the whole prompt was prefilled and its blocks stored
        StoreDue due = state.get(storeDueKey);
        if (due != null) {
            due.report();
        }
    }

    @Override
    public void onComplete(CycleState state, InferenceRequest request, Endpoint target, ResponseUsage usage,
                           boolean success) {
        StoreDue due = state.get(storeDueKey);
        if (due != null && success) {
            due.report();
        }
    }

    @Override
    public void close() {
        if (!handedOver) {
            shared.subscriber().close();
        }
    }
}
