package io.epp4j.scorers.prefix;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.SchedulingResult;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

/**
 * {@code approx-prefix-cache-producer}: hashes the prompt into a chain of blocks and matches it against an index of
 * what each endpoint probably has cached, learnt from earlier routing decisions (GAIE §5.5).
 *
 * <p>Blocks are {@code blockSizeTokens × 4} bytes of the request's prompt bytes; the chain is seeded by
 * xxHash64(targetModel ‖ cache_salt) and block i hashes (block bytes ‖ little-endian previous hash). The index keeps a
 * per-endpoint LRU sized from the endpoint's {@code cacheNumBlocks} metric when {@code autoTune}, else
 * {@code lruCapacityPerServer}. Endpoints not seen among candidates for 2 minutes are purged.
 */
public final class ApproxPrefixCacheProducer extends NamedPlugin implements DataProducer, PreRequest {

    public static final String TYPE = "approx-prefix-cache-producer";
    public static final int CHARS_PER_TOKEN = 4;
    /** The profile whose pick is learnt besides the primary one (llm-d hard-codes the name). */
    public static final String PREFILL_PROFILE = "prefill";
    static final long PURGE_INTERVAL_MILLIS = 120_000;

    private final boolean autoTune;
    private final int blockSizeTokens;
    private final int maxPrefixBlocksToMatch;
    private final int maxPrefixTokensToMatch;
    private final int lruCapacityPerServer;
    private volatile PrefixIndex index = new PrefixIndex(1 << 14);
    private final Clock clock;
    private final io.epp4j.spi.PluginMetrics.Histogram hitRatio;
    private final io.epp4j.spi.PluginMetrics.Histogram hitBytes;
    private volatile long[] lastSeenById = new long[64];
    private volatile long nextPurgeMillis;

    public ApproxPrefixCacheProducer(String name, PluginParameters parameters, PluginContext context) {
        super(TYPE, name);
        this.autoTune = parameters.getBoolean("autoTune", true);
        boolean tokensGiven = parameters.has("blockSizeTokens");
        if (parameters.has("blockSize") && !tokensGiven) {
            throw new IllegalArgumentException(
                    "parameter 'blockSize' (characters) is deprecated; set 'blockSizeTokens' instead");
        }
        this.blockSizeTokens = parameters.getInt("blockSizeTokens", 16);
        if (blockSizeTokens <= 0) {
            throw new IllegalArgumentException("parameter 'blockSizeTokens' must be > 0, got " + blockSizeTokens);
        }
        this.maxPrefixBlocksToMatch = parameters.getInt("maxPrefixBlocksToMatch", 256);
        this.maxPrefixTokensToMatch = parameters.getInt("maxPrefixTokensToMatch", 0);
        this.lruCapacityPerServer = parameters.getInt("lruCapacityPerServer", 31_250);
        if (maxPrefixBlocksToMatch <= 0 || lruCapacityPerServer <= 0 || maxPrefixTokensToMatch < 0) {
            throw new IllegalArgumentException("parameters 'maxPrefixBlocksToMatch' and 'lruCapacityPerServer' must"
                    + " be > 0 and 'maxPrefixTokensToMatch' >= 0");
        }
        this.clock = context.clock();
        this.nextPurgeMillis = clock.millis() + PURGE_INTERVAL_MILLIS;
        context.metrics().gauge("inference_extension_prefix_indexer_size",
                "Number of (block, endpoint) entries in the approximate prefix index", () -> this.index.size());
        this.hitRatio = context.metrics().histogram("inference_extension_prefix_indexer_hit_ratio",
                "Best matched share of the request's prefix blocks among the candidates",
                new double[] {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0});
        this.hitBytes = context.metrics().histogram("inference_extension_prefix_indexer_hit_bytes",
                "Best matched prefix length among the candidates, in bytes (blocks x block size x 4)",
                new double[] {0, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576});
    }

    public PrefixIndex index() {
        return index;
    }

    /**
     * Takes over the index of the producer a reloaded config replaces, when it hashes the same way (same block
     * size and auto-tuning), so affinity survives a config change. Returns whether it did.
     */
    @Override
    public boolean takeOver(io.epp4j.spi.Plugin predecessor) {
        if (!(predecessor instanceof ApproxPrefixCacheProducer previous)) {
            return false;
        }
        if (previous == this || previous.autoTune != autoTune || previous.blockSizeTokens != blockSizeTokens) {
            return false;
        }
        this.index = previous.index;
        this.lastSeenById = previous.lastSeenById;
        return true;
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        int blockTokens = blockSizeTokens;
        if (autoTune && !endpoints.isEmpty() && endpoints.get(0).metrics().cacheBlockSize() > 0) {
            blockTokens = endpoints.get(0).metrics().cacheBlockSize();
        }
        int maxBlocks = maxPrefixTokensToMatch > 0 ? Math.max(1, maxPrefixTokensToMatch / blockTokens)
                : maxPrefixBlocksToMatch;
        long[] hashes = hashBlocks(request, blockTokens * CHARS_PER_TOKEN, maxBlocks);
        int count = hashes.length;
        int[] matches = count == 0 ? new int[0] : index.match(hashes, count);
        state.put(PrefixMatch.KEY, new PrefixMatch(hashes, count, matches, index, blockTokens));
        if (count > 0) {
            int best = 0;
            for (int m : matches) {
                best = Math.max(best, m);
            }
            hitRatio.observe((double) best / count);
            hitBytes.observe((double) best * blockTokens * CHARS_PER_TOKEN);
        }
        markSeen(endpoints);
    }

    /** The request's chained block hashes (full blocks only, at most {@code maxBlocks}). */
    public static long[] hashBlocks(InferenceRequest request, int blockBytes, int maxBlocks) {
        int blocks = Math.min(request.prompt().length() / blockBytes, maxBlocks);
        if (blocks <= 0) {
            return new long[0];
        }
        byte[] model = request.targetModel() == null ? new byte[0]
                : request.targetModel().getBytes(StandardCharsets.UTF_8);
        byte[] salt = request.cacheSalt() == null ? new byte[0] : request.cacheSalt().getBytes(StandardCharsets.UTF_8);
        byte[] seedInput = new byte[model.length + salt.length];
        System.arraycopy(model, 0, seedInput, 0, model.length);
        System.arraycopy(salt, 0, seedInput, model.length, salt.length);
        long prev = XxHash64.hash(seedInput, 0, seedInput.length, 0);
        long[] out = new long[blocks];
        byte[] scratch = new byte[40];
        byte[] prompt = request.prompt().array();
        int offset = request.prompt().offset();
        for (int i = 0; i < blocks; i++) {
            prev = XxHash64.hashWithSuffix(prompt, offset + i * blockBytes, blockBytes, prev, 0, scratch);
            out[i] = prev;
        }
        return out;
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        PrefixMatch match = state.get(PrefixMatch.KEY);
        if (match != null && match.blockCount() > 0) {
            learn(result.primary(), match);
            // P/D: the prefill pod computed the prompt too, and keeps it for the next long prompt (llm-d learns
            // for the profile named exactly "prefill")
            List<Endpoint> prefill = result.profile(PREFILL_PROFILE);
            if (!prefill.isEmpty() && !prefill.get(0).info().name().equals(result.primary().info().name())) {
                learn(prefill.get(0), match);
            }
        }
        purgeIfDue();
    }

    private void learn(Endpoint target, PrefixMatch match) {
        long blocks = target.metrics().cacheNumBlocks();
        int capacity = autoTune && blocks > 0 ? (int) Math.min(Integer.MAX_VALUE, blocks) : lruCapacityPerServer;
        index.add(target.info().name(), match.blockHashes(), match.blockCount(), capacity);
        markSeen(List.of(target));
    }

    private void markSeen(List<Endpoint> endpoints) {
        long now = clock.millis();
        long[] seen = lastSeenById;
        int bound = index.endpointIdBound();
        if (seen.length < bound) {
            seen = java.util.Arrays.copyOf(seen, Math.max(bound, seen.length * 2));
            lastSeenById = seen;
        }
        for (int i = 0, n = endpoints.size(); i < n; i++) {
            int id = index.idOf(endpoints.get(i).info().name());
            if (id >= 0 && id < seen.length) {
                seen[id] = now;
            }
        }
    }

    private void purgeIfDue() {
        long now = clock.millis();
        if (now < nextPurgeMillis) {
            return;
        }
        nextPurgeMillis = now + PURGE_INTERVAL_MILLIS;
        long[] seen = lastSeenById;
        for (String endpoint : index.endpoints()) {
            int id = index.idOf(endpoint);
            if (id >= 0 && (id >= seen.length || seen[id] < now - PURGE_INTERVAL_MILLIS)) {
                index.removeEndpoint(endpoint);
                if (id < seen.length) {
                    seen[id] = now;
                }
            }
        }
    }
}
