package io.epp4j.scorers.multimodal;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.SchedulingResult;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code mm-embeddings-cache-producer} (llm-d): remembers which endpoints recently encoded which images, videos and
 * audio clips, so {@code mm-embeddings-cache-scorer} can send a request whose media an endpoint already holds in its
 * encoder cache back there.
 *
 * <p>Media items are found in the chat request's typed content parts ({@link MediaItems}); llm-d can also take them
 * from the token producer's multimodal features, which epp4j's token producer does not return. Each endpoint keeps an
 * LRU of item hashes learnt from routing decisions, {@code cacheSizeInMBPerServer} (4096) MiB at an assumed 2 MiB an
 * item (2048 items). Endpoints not seen among the candidates for 2 minutes are forgotten. Counts lookups into
 * {@code llm_d_epp_encoder_cache_queries_total} and {@code llm_d_epp_encoder_cache_hits_total}, and observes each
 * endpoint's share of matched items into {@code llm_d_epp_encoder_cache_hit_ratio}.
 */
public final class MmEmbeddingsCacheProducer extends NamedPlugin implements DataProducer, PreRequest {

    public static final String TYPE = "mm-embeddings-cache-producer";
    static final int DEFAULT_CACHE_MB = 4096;
    static final int MB_PER_ITEM = 2;
    static final long PURGE_INTERVAL_MILLIS = 120_000;

    static final CycleState.Key<Match> DEFAULT = new CycleState.Key<>("mm-embeddings-match/default");
    private static final CycleState.Key<List<MediaItems.Item>> ITEMS = new CycleState.Key<>("mm-embeddings-items");

    /** The media of one request and the items each endpoint already holds; immutable. */
    record Match(int totalItems, Map<String, Integer> matchedByEndpoint) {

        int matched(Endpoint e) {
            return matchedByEndpoint.getOrDefault(e.info().name(), 0);
        }
    }

    /** An endpoint's items, most recently used last; guarded by itself. */
    private static final class Lru extends LinkedHashMap<Long, Boolean> {
        private static final long serialVersionUID = 1L;
        private final int capacity;
        volatile long seenMillis;

        Lru(int capacity, long now) {
            super(16, 0.75f, true);
            this.capacity = capacity;
            this.seenMillis = now;
        }

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
            return size() > capacity;
        }
    }

    private final int capacity;
    private final Clock clock;
    private volatile ConcurrentHashMap<String, Lru> caches = new ConcurrentHashMap<>();
    private volatile long nextPurgeMillis;
    private final PluginMetrics.Counter queries;
    private final PluginMetrics.Counter hits;
    private final PluginMetrics.Histogram hitRatio;

    public MmEmbeddingsCacheProducer(String name, PluginParameters parameters, PluginContext context) {
        super(TYPE, name);
        String field = "cacheSizeInMBPerServer";
        if (!parameters.has(field) && parameters.has("cacheSizeInMB")) {
            field = "cacheSizeInMB";
            new WarnOnce(MmEmbeddingsCacheProducer.class).warn("{}: 'cacheSizeInMB' is read as"
                    + " 'cacheSizeInMBPerServer', the parameter's llm-d name", name());
        }
        int mb = parameters.getInt(field, DEFAULT_CACHE_MB);
        this.capacity = Math.max(1, (mb <= 0 ? DEFAULT_CACHE_MB : mb) / MB_PER_ITEM);
        this.clock = context.clock();
        this.nextPurgeMillis = clock.millis() + PURGE_INTERVAL_MILLIS;
        this.queries = context.metrics().counter("llm_d_epp_encoder_cache_queries_total",
                "Media item lookups against the encoder-cache affinity index", "plugin_type", "plugin_name",
                "modality");
        this.hits = context.metrics().counter("llm_d_epp_encoder_cache_hits_total",
                "Media item lookups that found the item on an endpoint", "plugin_type", "plugin_name", "pod",
                "modality");
        this.hitRatio = context.metrics().histogram("llm_d_epp_encoder_cache_hit_ratio",
                "Share of a request's media items an endpoint holds, per endpoint and lookup",
                new double[] {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}, "plugin_type", "plugin_name");
    }

    /** Items remembered per endpoint (the LRU capacity). */
    public int capacityPerEndpoint() {
        return capacity;
    }

    static CycleState.Key<Match> keyFor(String name) {
        return Keys.BY_NAME.computeIfAbsent(name, n -> new CycleState.Key<>("mm-embeddings-match/" + n));
    }

    /** Interned keys (CycleState compares keys by identity). */
    private static final class Keys {
        static final ConcurrentHashMap<String, CycleState.Key<Match>> BY_NAME = new ConcurrentHashMap<>();
    }

    @Override
    public boolean takeOver(Plugin predecessor) {
        if (predecessor instanceof MmEmbeddingsCacheProducer previous && previous != this
                && previous.capacity == capacity) {
            caches = previous.caches;
            return true;
        }
        return false;
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        long now = clock.millis();
        ConcurrentHashMap<String, Lru> all = caches;
        for (Endpoint e : endpoints) {
            all.computeIfAbsent(e.info().name(), n -> new Lru(capacity, now)).seenMillis = now;
        }
        List<MediaItems.Item> items = MediaItems.extract(request.prompt());
        if (items.isEmpty()) {
            return;
        }
        state.put(ITEMS, items);
        Map<String, Integer> matched = new LinkedHashMap<>();
        for (Endpoint e : endpoints) {
            Lru lru = all.get(e.info().name());
            int m = 0;
            synchronized (lru) {
                for (MediaItems.Item item : items) {
                    if (lru.containsKey(item.hash())) {
                        m++;
                        hits.inc(TYPE, name(), e.info().podName(), item.modality());
                    }
                }
            }
            hitRatio.observe((double) m / items.size(), TYPE, name());
            if (m > 0) {
                matched.put(e.info().name(), m);
            }
        }
        for (MediaItems.Item item : items) {
            queries.inc(TYPE, name(), item.modality());
        }
        Match match = new Match(items.size(), Map.copyOf(matched));
        state.put(keyFor(name()), match);
        if (state.get(DEFAULT) == null) {
            state.put(DEFAULT, match);
        }
    }

    /** The routed endpoint now holds the request's media. */
    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        List<MediaItems.Item> items = state.get(ITEMS);
        long now = clock.millis();
        if (items != null) {
            Lru lru = caches.computeIfAbsent(result.primary().info().name(), n -> new Lru(capacity, now));
            synchronized (lru) {
                for (MediaItems.Item item : items) {
                    lru.put(item.hash(), Boolean.TRUE);
                }
            }
        }
        if (now >= nextPurgeMillis) {
            nextPurgeMillis = now + PURGE_INTERVAL_MILLIS;
            caches.values().removeIf(lru -> lru.seenMillis < now - PURGE_INTERVAL_MILLIS);
        }
    }
}
