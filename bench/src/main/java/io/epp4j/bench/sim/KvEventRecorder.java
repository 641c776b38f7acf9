package io.epp4j.bench.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Collects what a pod's {@link PrefixCache} announces during one engine step into vLLM's events: consecutive
 * blocks of one request stored in the same step become one {@code BlockStored} (parent = the block before the
 * first, token ids = all their tokens), each eviction one {@code BlockRemoved}, a full reset
 * {@code AllBlocksCleared}. Called under the engine's lock.
 */
final class KvEventRecorder implements PrefixCache.Listener {

    private final SimConfig config;
    /** {@link KvEvent}s, and {@link Run}s not yet turned into {@code BlockStored}. */
    private final List<Object> pending = new ArrayList<>();

    /** Blocks {@code [from, to)} of one request's prompt. */
    private static final class Run {
        final Seq seq;
        final int from;
        int to;

        Run(Seq seq, int from) {
            this.seq = seq;
            this.from = from;
            this.to = from + 1;
        }
    }

    KvEventRecorder(SimConfig config) {
        this.config = config;
    }

    @Override
    public void stored(Seq seq, int index) {
        if (!pending.isEmpty() && pending.get(pending.size() - 1) instanceof Run r && r.seq == seq && r.to == index) {
            r.to++;
        } else {
            pending.add(new Run(seq, index));
        }
    }

    @Override
    public void removed(long hash) {
        pending.add(new KvEvent.BlockRemoved(new long[] {hash}, KvEvent.GPU));
    }

    @Override
    public void cleared() {
        pending.add(new KvEvent.AllBlocksCleared());
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The events since the last call, in order. */
    List<KvEvent> drain() {
        List<KvEvent> out = new ArrayList<>(pending.size());
        for (Object o : pending) {
            out.add(o instanceof Run r ? blockStored(r) : (KvEvent) o);
        }
        pending.clear();
        return out;
    }

    private KvEvent blockStored(Run r) {
        int blockChars = config.blockSize() * SimConfig.CHARS_PER_TOKEN;
        long[] hashes = Arrays.copyOfRange(r.seq.hashes, r.from, r.to);
        Long parent = r.from == 0 ? null : r.seq.hashes[r.from - 1];
        int[] tokens = SimTokenizer.encode(r.seq.prompt, r.from * blockChars, r.to * blockChars);
        String lora = r.seq.adapter;
        Integer loraId = lora == null ? null : config.loras().indexOf(lora) + 1;
        return new KvEvent.BlockStored(hashes, parent, tokens, config.blockSize(), loraId, KvEvent.GPU, lora);
    }
}
