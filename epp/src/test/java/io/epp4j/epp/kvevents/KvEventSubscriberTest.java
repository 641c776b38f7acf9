package io.epp4j.epp.kvevents;

import io.epp4j.epp.extproc.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real jeromq PUB (and ROUTER for replay) in the test, publishing msgpack batches as vLLM does. */
class KvEventSubscriberTest {

    static final String POD = "127.0.0.1:8000";
    static final String TOPIC = "kv@" + POD + "@m";
    static final long STALE_MILLIS = 300;

    private final ZContext zmq = new ZContext();
    private final CountingMetrics metrics = new CountingMetrics();
    private final KvBlockIndex index = new KvBlockIndex(10_000, 4, KvBlockIndexTest.TIERS);
    private KvEventSubscriber subscriber;

    @AfterEach
    void tearDown() {
        if (subscriber != null) {
            subscriber.close();
        }
        zmq.close();
    }

    private KvEventsConfig config(int pubPort, int replayPort, int queue) {
        return new KvEventsConfig("kv@", 0, pubPort - 8000, 0, replayPort == 0 ? 0 : replayPort - 8000, 1, queue,
                Duration.ofSeconds(2), Duration.ofMillis(STALE_MILLIS), true);
    }

    private static void send(ZMQ.Socket pub, String topic, long seq, byte[] payload) {
        pub.sendMore(topic.getBytes(StandardCharsets.UTF_8));
        pub.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
        pub.send(payload);
    }

    private static byte[] block(long hash, Long parent, int firstToken) {
        return VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1.0, new VllmPayloads.Stored(new long[] {hash}, parent,
                KvBlockIndexTest.tokens(firstToken, 4), 4, null, "GPU"));
    }

    private int matched(int blocks) {
        long[] keys = KvBlockIndexTest.requestKeys("m", KvBlockIndexTest.tokens(0, 4 * blocks), 4);
        return index.match(keys, keys.length).matchedBlocks(POD);
    }

    /** A bound PUB socket and a subscriber following POD on it, without replay. */
    private ZMQ.Socket publisherAndSubscriber() {
        ZMQ.Socket pub = zmq.createSocket(SocketType.PUB);
        int port = pub.bindToRandomPort("tcp://127.0.0.1");
        subscriber = new KvEventSubscriber(config(port, 0, 100), new KvEventDecoder(), index, System::nanoTime,
                metrics);
        subscriber.addPod(POD, "127.0.0.1", 8000);
        return pub;
    }

    /** Publishes seq 0 until the SUB has joined (PUB/SUB drops messages sent before the subscription arrives). */
    private void join(ZMQ.Socket pub) throws InterruptedException {
        Await.until("subscriber joined", () -> {
            send(pub, TOPIC, 0, block(-1, null, 0));
            return matched(1) == 1;
        });
        // the copies of batch 0 still on their way land before the test goes on (a late one would restart the
        // sequence)
        long applied;
        do {
            applied = metrics.count("epp4j_kv_events_total", POD, "BlockStored");
            Thread.sleep(200);
        } while (metrics.count("epp4j_kv_events_total", POD, "BlockStored") != applied);
    }

    @Test
    void eventsFromARealPublisherReachTheIndexAndMakeThePodPrecise() throws Exception {
        ZMQ.Socket pub = publisherAndSubscriber();
        assertFalse(subscriber.health(POD).precise(), "a fresh EPP starts on the approximate index");
        join(pub);
        send(pub, TOPIC, 1, block(-2, -1L, 4));
        Await.until("second block", () -> matched(2) == 2);
        assertTrue(subscriber.health(POD).precise());
        assertEquals(1, metrics.count("epp4j_kv_events_fallback_transitions_total", POD, "precise",
                "events_healthy"));
        send(pub, TOPIC, 2, VllmPayloads.batch(VllmPayloads.Encoding.ARRAY, 2.0, new VllmPayloads.Cleared()));
        Await.until("cleared", () -> matched(2) == 0);
    }

    @Test
    void malformedMessagesAreDroppedAndCountedAndLaterOnesStillApply() throws Exception {
        ZMQ.Socket pub = publisherAndSubscriber();
        join(pub);
        pub.sendMore(TOPIC);
        pub.send("only two frames");
        send(pub, TOPIC, 1, new byte[] {(byte) 0xc1, 1, 2});
        send(pub, TOPIC, 2, VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1, "FutureEvent"));
        send(pub, TOPIC, 3, block(-2, -1L, 4));
        Await.until("valid batch after the bad ones", () -> matched(2) == 2);
        assertEquals(1, metrics.count("epp4j_kv_events_dropped_total", POD, "frames"));
        assertEquals(1, metrics.count("epp4j_kv_events_dropped_total", POD, "msgpack"));
        assertEquals(1, metrics.count("epp4j_kv_events_dropped_total", POD, "unknown_type"));
    }

    @Test
    void aSequenceGapIsFilledFromThePodsReplaySocket() throws Exception {
        ZMQ.Socket pub = zmq.createSocket(SocketType.PUB);
        int port = pub.bindToRandomPort("tcp://127.0.0.1");
        ZMQ.Socket router = zmq.createSocket(SocketType.ROUTER);
        int replayPort = router.bindToRandomPort("tcp://127.0.0.1");
        Map<Long, byte[]> buffer = new ConcurrentHashMap<>();
        buffer.put(1L, block(-2, -1L, 4));
        buffer.put(2L, block(-3, -2L, 8));
        Thread server = new Thread(() -> {
            // vLLM's _service_replay: [identity, b"", start] -> [identity, b"", topic, seq, payload]..., END_SEQ
            byte[] identity = router.recv();
            router.recv();
            long start = ByteBuffer.wrap(router.recv()).getLong();
            for (long s = start; s <= 2; s++) {
                router.sendMore(identity);
                router.sendMore(new byte[0]);
                router.sendMore(TOPIC);
                router.sendMore(ByteBuffer.allocate(8).putLong(s).array());
                router.send(buffer.get(s));
            }
            router.sendMore(identity);
            router.sendMore(new byte[0]);
            router.sendMore(TOPIC);
            router.sendMore(ByteBuffer.allocate(8).putLong(-1L).array());
            router.send(new byte[0]);
        });
        server.start();
        subscriber = new KvEventSubscriber(config(port, replayPort, 100), new KvEventDecoder(), index,
                System::nanoTime, metrics);
        subscriber.addPod(POD, "127.0.0.1", 8000);
        join(pub);
        send(pub, TOPIC, 3, block(-4, -3L, 12)); // 1 and 2 were lost
        Await.until("replayed blocks and the live one", () -> matched(4) == 4);
        server.join(5000);
        assertEquals(1, metrics.count("epp4j_kv_events_sequence_gaps_total", POD, "replayed"));
        assertTrue(subscriber.health(POD).precise());
    }

    @Test
    void aGapWithoutReplayClearsThePodAndFallsBackUntilEventsFlowAgain() throws Exception {
        ZMQ.Socket pub = publisherAndSubscriber();
        join(pub);
        assertTrue(subscriber.health(POD).precise());
        send(pub, TOPIC, 5, block(-9, null, 100)); // 1..4 lost, no replay socket
        Await.until("unrecovered gap", () -> metrics.count("epp4j_kv_events_sequence_gaps_total", POD,
                "unrecovered") == 1);
        assertEquals(0, matched(1), "entries from before the gap are cleared");
        assertEquals(1, metrics.count("epp4j_kv_events_fallback_transitions_total", POD, "approximate",
                "sequence_gap"));
        send(pub, TOPIC, 6, block(-10, -9L, 104));
        long[] afterGap = KvBlockIndexTest.requestKeys("m", KvBlockIndexTest.tokens(100, 8), 4);
        Await.until("the blocks after the gap applied",
                () -> index.match(afterGap, 2).matchedBlocks(POD) == 2);
        assertFalse(subscriber.health(POD).precise(), "still approximate right after the gap");
        long gapAt = System.nanoTime();
        long[] seq = {7};
        Await.until("precise once events flow staleAfter past the gap", () -> {
            send(pub, TOPIC, seq[0]++, VllmPayloads.batch(VllmPayloads.Encoding.MAP, 1, new VllmPayloads.Cleared()));
            return subscriber.health(POD).precise();
        });
        assertTrue(System.nanoTime() - gapAt >= STALE_MILLIS * 1_000_000 / 2);
    }

    @Test
    void aFloodingPublisherIsDroppedAndCountedWithoutBlocking() throws Exception {
        ZMQ.Socket pub = zmq.createSocket(SocketType.PUB);
        pub.setSndHWM(1_000_000);
        int port = pub.bindToRandomPort("tcp://127.0.0.1");
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch first = new CountDownLatch(1);
        KvEventSink stuck = (pod, model, events) -> {
            first.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        subscriber = new KvEventSubscriber(config(port, 0, 4), new KvEventDecoder(), stuck, System::nanoTime,
                metrics);
        subscriber.addPod(POD, "127.0.0.1", 8000);
        Await.until("first batch reached the sink", () -> {
            send(pub, TOPIC, 0, block(-1, null, 0));
            return first.getCount() == 0;
        });
        for (int i = 1; i <= 200; i++) {
            send(pub, TOPIC, i, block(-1 - i, -(long) i, 4 * i));
        }
        Await.until("drops counted", () -> metrics.count("epp4j_kv_events_dropped_total", POD, "queue_full") > 0);
        release.countDown();
    }
}
