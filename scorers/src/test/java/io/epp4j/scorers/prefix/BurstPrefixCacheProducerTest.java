package io.epp4j.scorers.prefix;

import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class BurstPrefixCacheProducerTest {

    final List<Endpoint> pool = List.of(endpoint(1, 0, 0, 0), endpoint(2, 0, 0, 0), endpoint(3, 0, 0, 0));
    final List<Runnable> timers = new CopyOnWriteArrayList<>();

    /** 4 tokens a block: one block is 16 bytes of prompt. */
    BurstPrefixCacheProducer producer(Map<String, Object> extra) {
        Map<String, Object> p = new HashMap<>(Map.of("blockSizeTokens", 4));
        p.putAll(extra);
        return new BurstPrefixCacheProducer("burst", new PluginParameters(p), (millis, task) -> timers.add(task));
    }

    /**
     * Sends the prompts concurrently through the producer, closes the window once all of them wait in it, then
     * routes each with prefix-cache-scorer (reading the producer, weight 2) and queue-scorer (weight 1).
     */
    List<String> burst(BurstPrefixCacheProducer producer, List<String> prompts) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(prompts.size());
        try {
            List<CycleState> states = new ArrayList<>();
            List<Future<?>> done = new ArrayList<>();
            for (String prompt : prompts) {
                CycleState state = new CycleState();
                states.add(state);
                done.add(threads.submit(() -> producer.produce(state, request(prompt), pool)));
            }
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                while (producer.waiting() < prompts.size()) {
                    Thread.onSpinWait();
                }
            });
            assertEquals(1, timers.size(), "one window for the whole burst");
            timers.get(0).run();
            for (Future<?> f : done) {
                f.get();
            }
            PrefixCacheScorer prefix = new PrefixCacheScorer(null,
                    new PluginParameters(Map.of("prefixMatchInfoProducerName", "burst")));
            QueueScorer queue = new QueueScorer(null);
            List<String> picks = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                double[] a = new double[pool.size()];
                double[] b = new double[pool.size()];
                prefix.score(states.get(i), request(prompts.get(i)), pool, a);
                queue.score(states.get(i), request(prompts.get(i)), pool, b);
                int best = -1;
                double bestTotal = -1;
                boolean affinity = false;
                for (int j = 0; j < pool.size(); j++) {
                    affinity |= a[j] > 0;
                    double t = 2 * a[j] + b[j];
                    if (t > bestTotal) {
                        best = j;
                        bestTotal = t;
                    }
                }
                picks.add(affinity ? pool.get(best).info().podName() : null);
            }
            return picks;
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void samplesOfOnePromptLandOnOneReplicaAndDistinctGroupsSpread() throws Exception {
        String a = "A".repeat(64);
        String b = "B".repeat(64);
        List<String> picks = burst(producer(Map.of()), List.of(a, b, a, b, a, b, a, b, "C".repeat(64)));
        assertEquals(1, new HashSet<>(List.of(picks.get(0), picks.get(2), picks.get(4), picks.get(6))).size());
        assertEquals(1, new HashSet<>(List.of(picks.get(1), picks.get(3), picks.get(5), picks.get(7))).size());
        assertNotEquals(picks.get(0), picks.get(1));
        assertNull(picks.get(8), "a prompt nobody else sent gets no affinity");
    }

    @Test
    void maxPerReplicaSpreadsALargeGroup() throws Exception {
        String a = "A".repeat(64);
        List<String> picks = burst(producer(Map.of("maxPerReplica", 3)), java.util.Collections.nCopies(8, a));
        Map<String, Integer> perPod = new HashMap<>();
        picks.forEach(p -> perPod.merge(p, 1, Integer::sum));
        assertEquals(List.of(2, 3, 3), perPod.values().stream().sorted().toList());
    }

    @Test
    void aLateWindowStartsAfresh() throws Exception {
        BurstPrefixCacheProducer p = producer(Map.of());
        String a = "A".repeat(64);
        burst(p, List.of(a, a));
        timers.clear();
        List<String> second = burst(p, List.of(a, a));
        assertEquals(second.get(0), second.get(1));
    }

    static BurstAssignment.Entry entry(List<Endpoint> pool, long... hashes) {
        return new BurstAssignment.Entry(hashes, pool);
    }

    @Test
    void minColocateBlocksJoinsPromptsSharingALeadingPrefixWithinFairShare() {
        List<Endpoint> two = pool.subList(0, 2);
        // P1, P2 share their first two blocks (chained hashes 10, 11); Q1, Q2 share 20, 21
        BurstAssignment.Entry p1 = entry(two, 10, 11, 12, 13);
        BurstAssignment.Entry p2 = entry(two, 10, 11, 14, 15);
        BurstAssignment.Entry q1 = entry(two, 20, 21, 22, 23);
        BurstAssignment.Entry q2 = entry(two, 20, 21, 24, 25);
        BurstAssignment.assign(List.of(p1, p2, q1, q2), -1, 2, false);
        assertEquals(p1.assigned, p2.assigned);
        assertEquals(q1.assigned, q2.assigned);
        assertNotEquals(p1.assigned, q1.assigned);

        BurstAssignment.Entry r1 = entry(two, 10, 11, 12, 13);
        BurstAssignment.Entry r2 = entry(two, 10, 11, 14, 15);
        BurstAssignment.assign(List.of(r1, r2), -1, 0, false);
        assertNull(r1.assigned, "minColocateBlocks 0: only identical prompts are placed");
        assertNull(r2.assigned);
    }

    @Test
    void balanceByTokensWeighsLongPromptsByTheirBlocks() {
        List<Endpoint> two = pool.subList(0, 2);
        for (boolean byTokens : new boolean[] {false, true}) {
            long[] longPrompt = {1, 2, 3, 4, 5, 6, 7, 8};
            List<BurstAssignment.Entry> window = List.of(entry(two, longPrompt), entry(two, longPrompt),
                    entry(two, 30, 31), entry(two, 30, 31), entry(two, 40, 41), entry(two, 40, 41));
            BurstAssignment.assign(window, -1, 0, byTokens);
            String longOne = window.get(0).assigned;
            String lastShort = window.get(4).assigned;
            if (byTokens) {
                assertNotEquals(longOne, lastShort, "by tokens both short groups share the other replica");
            } else {
                assertEquals(longOne, lastShort, "by requests the third group evens the count");
            }
        }
    }

    @Test
    void rejectsParametersLlmdRejects() {
        for (Map<String, Object> bad : List.<Map<String, Object>>of(Map.of("windowDurationMs", 0),
                Map.of("windowDurationMs", 10_001), Map.of("maxPerReplica", 0), Map.of("blockSizeTokens", 0),
                Map.of("maxPrefixTokensToMatch", 2), Map.of("minColocateBlocks", -1), Map.of("maxBatchSize", 0),
                Map.of("balanceBy", "bytes"))) {
            assertThrows(IllegalArgumentException.class, () -> producer(bad), bad.toString());
        }
    }

    @Test
    void requestsBeyondMaxBatchSizeGoOnWithoutWaiting() {
        BurstPrefixCacheProducer p = producer(Map.of("maxBatchSize", 1));
        Thread first = new Thread(() -> p.produce(new CycleState(), request("A".repeat(64)), pool));
        first.start();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            while (p.waiting() < 1) {
                Thread.onSpinWait();
            }
            CycleState late = new CycleState();
            InferenceRequest r = request("A".repeat(64));
            p.produce(late, r, pool); // returns at once: the window is full
            assertNull(late.get(PrefixMatchInfo.keyFor("burst")));
            timers.get(0).run();
            first.join();
        });
    }
}
