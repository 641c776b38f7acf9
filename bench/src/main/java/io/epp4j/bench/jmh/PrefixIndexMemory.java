package io.epp4j.bench.jmh;

import io.epp4j.scorers.prefix.PrefixIndex;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Heap bytes per (block, endpoint) entry of the prefix index, measured as heap used after N inserts minus before,
 * with {@code System.gc()} around, against a boxed baseline ({@code HashMap<Long, Set<Integer>>} plus per-endpoint
 * {@code LinkedHashSet<Long>} LRUs, the obvious object-based design) holding the same entries.
 *
 * <pre>
 * java -Xmx2g -cp bench/target/classes:$(cat /tmp/bench.cp) io.epp4j.bench.jmh.PrefixIndexMemory 1000000 64
 * </pre>
 */
public final class PrefixIndexMemory {

    private PrefixIndexMemory() {
    }

    public static void main(String[] args) {
        int entries = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int endpoints = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int perEndpoint = entries / endpoints;
        long[][] blocks = new long[endpoints][perEndpoint];
        Random random = new Random(5);
        for (long[] row : blocks) {
            for (int i = 0; i < row.length; i++) {
                // half the blocks are shared by several endpoints (common system prompts), half unique
                row[i] = i % 2 == 0 ? random.nextInt(perEndpoint) : random.nextLong();
            }
        }
        HeapUse.Measured<PrefixIndex> index = HeapUse.of(() -> {
            PrefixIndex built = new PrefixIndex(1024);
            for (int e = 0; e < endpoints; e++) {
                for (int i = 0; i < perEndpoint; i += 256) {
                    built.add("pod-" + e + "-rank-0", java.util.Arrays.copyOfRange(blocks[e], i,
                            Math.min(perEndpoint, i + 256)), Math.min(256, perEndpoint - i), Integer.MAX_VALUE);
                }
            }
            return built;
        });
        int size = index.value().size();
        System.out.printf("PrefixIndex: %d entries, %d endpoints, %.1f bytes/entry%n", size, endpoints,
                index.bytesPer(size));

        HeapUse.Measured<Object> boxed = HeapUse.of(() -> {
            Map<Long, Set<Integer>> reverse = new HashMap<>();
            Map<Integer, java.util.LinkedHashSet<Long>> lru = new HashMap<>();
            for (int e = 0; e < endpoints; e++) {
                java.util.LinkedHashSet<Long> mine = lru.computeIfAbsent(e, k -> new java.util.LinkedHashSet<>());
                for (long h : blocks[e]) {
                    if (mine.add(h)) {
                        reverse.computeIfAbsent(h, k -> new HashSet<>()).add(e);
                    }
                }
            }
            return new Object[] {reverse, lru};
        });
        System.out.printf("boxed baseline: %d entries, %.1f bytes/entry%n", size, boxed.bytesPer(size));
    }
}
