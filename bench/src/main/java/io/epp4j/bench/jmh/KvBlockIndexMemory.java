package io.epp4j.bench.jmh;

import io.epp4j.epp.kvevents.KvBlockIndex;
import io.epp4j.epp.kvevents.KvEvent;

import java.util.List;
import java.util.Random;

/**
 * Heap bytes per (block, pod) entry of the precise prefix index at N entries (capacity N), measured as heap used
 * after filling it minus before, with {@code System.gc()} around, against the boxed baseline of
 * {@link KvBlockIndexBenchmark} holding the same entries. The events are built beforehand, so only the index is
 * counted: 64 pods, spans of 16 blocks of 16 tokens, each pod's spans chained like a conversation.
 *
 * <pre>
 * java -Xmx4g -cp bench/target/bench.jar io.epp4j.bench.jmh.KvBlockIndexMemory 1000000
 * </pre>
 */
public final class KvBlockIndexMemory {

    private KvBlockIndexMemory() {
    }

    public static void main(String[] args) {
        int entries = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int pods = 64;
        int span = 16;
        int block = 16;
        Random random = new Random(11);
        int[] tokens = new int[span * block];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(150_000);
        }
        int spans = entries / span;
        KvEvent.BlockStored[] events = new KvEvent.BlockStored[spans];
        String[] owner = new String[spans];
        long[] last = new long[pods];
        for (int s = 0; s < spans; s++) {
            int pod = s % pods;
            long[] hashes = new long[span];
            for (int i = 0; i < span; i++) {
                hashes[i] = (long) s * span + i + 1;
            }
            int[] t = tokens.clone();
            t[0] = s;
            boolean start = s / pods % 8 == 0;
            events[s] = new KvEvent.BlockStored(hashes, !start, last[pod], t, block, null, "GPU", 0, null);
            owner[s] = "10.0.0." + pod + ":8000";
            last[pod] = hashes[span - 1];
        }
        HeapUse.Measured<KvBlockIndex> index = HeapUse.of(() -> {
            KvBlockIndex built = new KvBlockIndex(entries, block, List.of(new KvBlockIndex.Tier("gpu", 1.0)));
            for (int s = 0; s < spans; s++) {
                built.apply(owner[s], "m", List.of(events[s]));
            }
            return built;
        });
        int size = index.value().size();
        System.out.printf("KvBlockIndex: %d entries, %d pods, %.1f bytes/entry%n", size, pods, index.bytesPer(size));

        HeapUse.Measured<KvBlockIndexBenchmark.BoxedIndex> boxed = HeapUse.of(() -> {
            KvBlockIndexBenchmark.BoxedIndex built = new KvBlockIndexBenchmark.BoxedIndex(block);
            for (int s = 0; s < spans; s++) {
                built.apply(owner[s], "m", events[s]);
            }
            return built;
        });
        System.out.printf("boxed baseline: %d entries, %.1f bytes/entry%n", size, boxed.bytesPer(size));
    }
}
