package io.epp4j.bench.jmh;

import java.util.function.Supplier;

/**
 * The heap a structure takes, for the memory reports ({@link PrefixIndexMemory}, {@link KvBlockIndexMemory}): heap
 * used after building it minus before, each read after {@code System.gc()}. Only meaningful with nothing else
 * allocating meanwhile (a single-threaded main).
 */
final class HeapUse {

    private HeapUse() {
    }

    /** What was built, and the heap bytes it added. */
    record Measured<T>(T value, long bytes) {

        double bytesPer(int entries) {
            return bytes / (double) entries;
        }
    }

    /** Builds with {@code build} and measures what it added; the result stays reachable through the answer. */
    static <T> Measured<T> of(Supplier<T> build) {
        long before = usedHeap();
        T value = build.get();
        long after = usedHeap();
        return new Measured<>(value, after - before);
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
