package io.epp4j.bench.jmh;

import io.epp4j.epp.kvevents.KvBlockIndex;
import io.epp4j.epp.kvevents.KvEvent;
import io.epp4j.epp.kvevents.RequestKeys;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The precise prefix index ({@link KvBlockIndex}) against a boxed baseline (a {@code HashMap<Long, Set<String>>}
 * from key to pods plus a {@code HashMap<String, Long>} from (pod, engine hash) to key: the obvious object-based
 * design), both holding 1,000,000 (block, pod) entries over 64 pods before measuring.
 *
 * <ul>
 *   <li>{@code ingest*}: one BlockStored event of 16 blocks of 16 tokens (vLLM's default block size), chained
 *       from the pod's previous span, on a full index (the CLOCK hand evicts); throughput in block events/s.</li>
 *   <li>{@code score*}: a 400 KB prompt (102,400 tokens) in 64-token blocks (1,600 keys), three quarters of which
 *       one pod holds: the longest run per pod from the token ids; time per prompt. {@code scoreIndex} hashes each
 *       block as the run reaches it and stops at the first block no pod holds (what the producer does);
 *       {@code scoreAllKeysFirst} hashes every block, then looks the keys up (as the boxed baseline does).</li>
 *   <li>{@code hashPrompt}: all 1,600 request keys alone; {@code hashPromptPairRounds} the same with the key
 *       function's previous rounds (one multiply-rotate-multiply per two tokens), as a baseline.</li>
 * </ul>
 *
 * <p>Run: {@code java -cp bench/target/bench.jar org.openjdk.jmh.Main KvBlockIndexBenchmark -f 1 -wi 3 -i 5 -w 1s
 * -r 1s}. Memory per entry: {@link KvBlockIndexMemory}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class KvBlockIndexBenchmark {

    static final String MODEL = "Qwen/Qwen3-32B";
    static final int PODS = 64;
    static final int ENTRIES = 1_000_000;
    static final int SPAN = 16;
    static final int INGEST_BLOCK = 16;
    static final int SCORE_BLOCK = 64;
    static final int PROMPT_TOKENS = 102_400;

    KvBlockIndex ingestIndex;
    KvBlockIndex scoreIndex;
    BoxedIndex boxedIngest;
    BoxedIndex boxedScore;
    final int[] spanTokens = new int[SPAN * INGEST_BLOCK];
    final long[] lastHash = new long[PODS];
    final String[] pods = new String[PODS];
    long counter = 1;
    int[] prompt;

    @Setup
    public void setUp() {
        for (int p = 0; p < PODS; p++) {
            pods[p] = "10.0.0." + p + ":8000";
        }
        Random random = new Random(7);
        for (int i = 0; i < spanTokens.length; i++) {
            spanTokens[i] = random.nextInt(150_000);
        }
        ingestIndex = new KvBlockIndex(ENTRIES, INGEST_BLOCK, List.of(new KvBlockIndex.Tier("gpu", 1.0)));
        boxedIngest = new BoxedIndex(INGEST_BLOCK);
        while (ingestIndex.size() < ENTRIES) {
            KvEvent.BlockStored e = nextSpan();
            ingestIndex.apply(pods[(int) (counter % PODS)], MODEL, List.of(e));
        }
        counter = 1;
        java.util.Arrays.fill(lastHash, 0);
        for (int i = 0; i < ENTRIES / SPAN; i++) {
            KvEvent.BlockStored e = nextSpan();
            boxedIngest.apply(pods[(int) (counter % PODS)], MODEL, e);
        }

        prompt = new int[PROMPT_TOKENS];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = random.nextInt(150_000);
        }
        scoreIndex = new KvBlockIndex(2 * ENTRIES, SCORE_BLOCK, List.of(new KvBlockIndex.Tier("gpu", 1.0)));
        boxedScore = new BoxedIndex(SCORE_BLOCK);
        int blocks = PROMPT_TOKENS / SCORE_BLOCK;
        int held = blocks * 3 / 4;
        long[] hashes = new long[held];
        for (int i = 0; i < held; i++) {
            hashes[i] = 1_000_000_000L + i;
        }
        int[] heldTokens = java.util.Arrays.copyOf(prompt, held * SCORE_BLOCK);
        KvEvent.BlockStored mine = new KvEvent.BlockStored(hashes, false, 0, heldTokens, SCORE_BLOCK, null, "GPU", 0,
                null);
        scoreIndex.apply(pods[0], MODEL, List.of(mine));
        boxedScore.apply(pods[0], MODEL, mine);
        // the rest of the index: other pods' unrelated prefixes, 1M entries in all
        int[] other = new int[SPAN * SCORE_BLOCK];
        long h = 1;
        while (scoreIndex.size() < ENTRIES) {
            for (int i = 0; i < other.length; i++) {
                other[i] = random.nextInt(150_000);
            }
            long[] hs = new long[SPAN];
            for (int i = 0; i < SPAN; i++) {
                hs[i] = h++;
            }
            KvEvent.BlockStored e = new KvEvent.BlockStored(hs, false, 0, other.clone(), SCORE_BLOCK, null, "GPU", 0,
                    null);
            String pod = pods[1 + (int) (h % (PODS - 1))];
            scoreIndex.apply(pod, MODEL, List.of(e));
            boxedScore.apply(pod, MODEL, e);
        }
    }

    KvEvent.BlockStored nextSpan() {
        int pod = (int) (++counter % PODS);
        long[] hashes = new long[SPAN];
        for (int i = 0; i < SPAN; i++) {
            hashes[i] = counter * SPAN + i;
        }
        spanTokens[0] = (int) counter; // a fresh prefix each span
        boolean conversationStart = counter % 8 == 0 || lastHash[pod] == 0;
        KvEvent.BlockStored e = new KvEvent.BlockStored(hashes, !conversationStart, lastHash[pod], spanTokens,
                INGEST_BLOCK, null, "GPU", 0, null);
        lastHash[pod] = hashes[SPAN - 1];
        return e;
    }

    @Benchmark
    @OperationsPerInvocation(SPAN)
    public int ingestIndex() {
        KvEvent.BlockStored e = nextSpan();
        ingestIndex.apply(pods[(int) (counter % PODS)], MODEL, List.of(e));
        return e.blockHashes().length;
    }

    @Benchmark
    @OperationsPerInvocation(SPAN)
    public int ingestBoxedBaseline() {
        KvEvent.BlockStored e = nextSpan();
        boxedIngest.apply(pods[(int) (counter % PODS)], MODEL, e);
        return e.blockHashes().length;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int scoreIndex() {
        return scoreIndex.match(RequestKeys.root(MODEL), prompt, prompt.length, Integer.MAX_VALUE)
                .matchedBlocks(pods[0]);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int scoreAllKeysFirst() {
        long[] keys = RequestKeys.keys(RequestKeys.root(MODEL), prompt, prompt.length, SCORE_BLOCK,
                Integer.MAX_VALUE);
        return scoreIndex.match(keys, keys.length).matchedBlocks(pods[0]);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int scoreBoxedBaseline() {
        long[] keys = RequestKeys.keys(RequestKeys.root(MODEL), prompt, prompt.length, SCORE_BLOCK,
                Integer.MAX_VALUE);
        return boxedScore.match(keys).getOrDefault(pods[0], 0);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long hashPrompt() {
        long[] keys = RequestKeys.keys(RequestKeys.root(MODEL), prompt, prompt.length, SCORE_BLOCK,
                Integer.MAX_VALUE);
        return keys[keys.length - 1];
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long hashPromptPairRounds() {
        long parent = RequestKeys.root(MODEL);
        for (int i = 0; i + SCORE_BLOCK <= prompt.length; i += SCORE_BLOCK) {
            parent = PairRoundKeys.next(parent, prompt, i, SCORE_BLOCK);
        }
        return parent;
    }

    /**
     * The key function {@link RequestKeys} had before its multiply-fold rounds, kept as this benchmark's baseline:
     * an xxHash64-style multiply-rotate-multiply round per pair of token ids, in four lanes, then an avalanche.
     */
    static final class PairRoundKeys {
        private static final long P1 = 0x9E3779B185EBCA87L;
        private static final long P2 = 0xC2B2AE3D27D4EB4FL;
        private static final long P3 = 0x165667B19E3779F9L;
        private static final long P4 = 0x85EBCA77C2B2AE63L;

        static long next(long parent, int[] tokens, int offset, int length) {
            long a = parent + P1 + P2;
            long b = parent + P2;
            long c = parent;
            long d = parent - P1;
            int i = 0;
            for (; i + 8 <= length; i += 8) {
                int o = offset + i;
                a = round(a, pair(tokens[o], tokens[o + 1]));
                b = round(b, pair(tokens[o + 2], tokens[o + 3]));
                c = round(c, pair(tokens[o + 4], tokens[o + 5]));
                d = round(d, pair(tokens[o + 6], tokens[o + 7]));
            }
            long h = Long.rotateLeft(a, 1) + Long.rotateLeft(b, 7) + Long.rotateLeft(c, 12) + Long.rotateLeft(d, 18);
            for (; i < length; i++) {
                h = round(h, tokens[offset + i] & 0xFFFFFFFFL);
            }
            h ^= length ^ parent * P4;
            h ^= h >>> 33;
            h *= P2;
            h ^= h >>> 29;
            h *= P3;
            return h ^ (h >>> 32);
        }

        private static long pair(int x, int y) {
            return (x & 0xFFFFFFFFL) | ((long) y << 32);
        }

        private static long round(long acc, long v) {
            return Long.rotateLeft(acc + v * P2, 31) * P1;
        }
    }

    /** The object-based design: boxed keys, a set of pod names per key, a string-keyed engine map; no bound. */
    static final class BoxedIndex {
        final int blockSize;
        final Map<Long, Set<String>> pods = new HashMap<>();
        final Map<String, Long> engine = new HashMap<>();

        BoxedIndex(int blockSize) {
            this.blockSize = blockSize;
        }

        void apply(String pod, String model, KvEvent.BlockStored s) {
            long parent = RequestKeys.root(model);
            if (s.hasParent()) {
                Long p = engine.get(pod + "/" + s.parentHash());
                if (p == null) {
                    return;
                }
                parent = p;
            }
            for (int b = 0; b < s.blockHashes().length; b++) {
                parent = RequestKeys.next(parent, s.tokenIds(), b * blockSize, blockSize);
                pods.computeIfAbsent(parent, k -> new HashSet<>()).add(pod);
                engine.put(pod + "/" + s.blockHashes()[b], parent);
            }
        }

        Map<String, Integer> match(long[] keys) {
            Map<String, Integer> run = new HashMap<>();
            for (int i = 0; i < keys.length; i++) {
                Set<String> holders = pods.get(keys[i]);
                if (holders == null) {
                    break;
                }
                boolean advanced = false;
                for (String p : holders) {
                    if (run.getOrDefault(p, 0) == i) {
                        run.put(p, i + 1);
                        advanced = true;
                    }
                }
                if (!advanced) {
                    break;
                }
            }
            return run;
        }
    }
}
