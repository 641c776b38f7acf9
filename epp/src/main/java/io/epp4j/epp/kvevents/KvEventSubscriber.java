package io.epp4j.epp.kvevents;

import io.epp4j.spi.PluginMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMQException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Follows the KV events of every pod it is told about: one receiving thread per pod on a ZMQ SUB socket dialing
 * the pod's publisher, and {@code concurrency} workers that decode, check sequence numbers and apply batches to the
 * {@link KvEventSink}, each pod always on the same worker so its events stay in order.
 *
 * <p>Receivers only check frames and hand messages over through a bounded queue: a publisher that floods fills its
 * worker's queue and its extra messages are dropped and counted, never blocking routing (which only reads the
 * index). A sequence gap (a lost or dropped message) is filled from the pod's replay socket when there is one (a
 * DEALER asks {@code [b"", start_seq]}, as vLLM's ROUTER expects); a gap that cannot be filled clears the pod's
 * entries and marks it unhealthy ({@link PodEventHealth}); a sequence that restarts (the engine restarted) clears
 * the pod. Malformed frames or payloads and unknown event types are dropped and counted; nothing a publisher sends
 * can throw past this class.
 */
public final class KvEventSubscriber implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KvEventSubscriber.class);
    private static final long END_SEQ = -1L;
    private static final int RECEIVE_POLL_MILLIS = 100;

    /** One message as received: topic, sequence number, payload. */
    private record Message(Pod pod, String topic, long seq, byte[] payload) {
    }

    private final class Pod {
        final String id;
        final String endpoint;
        final String replayEndpoint;
        final PodEventHealth health;
        final Worker worker;
        volatile boolean closed;
        Thread receiver;
        // written by the worker only; read by status()
        volatile long lastSeq = -1;
        final AtomicLong batches = new AtomicLong();
        final AtomicLong droppedCount = new AtomicLong();
        final AtomicLong gapsReplayed = new AtomicLong();
        final AtomicLong gapsUnrecovered = new AtomicLong();
        final AtomicLong resetCount = new AtomicLong();
        // touched by the worker only
        long replayedUpTo = -1;
        String lastTopic = "";

        Pod(String id, String endpoint, String replayEndpoint, Worker worker) {
            this.id = id;
            this.endpoint = endpoint;
            this.replayEndpoint = replayEndpoint;
            this.worker = worker;
            this.health = new PodEventHealth(id, config.staleAfter().toNanos(), ticker,
                    (pod, precise, reason) -> transitions.inc(pod, precise ? "precise" : "approximate", reason));
        }
    }

    private final KvEventsConfig config;
    private final KvEventDecoder decoder;
    private final KvEventSink sink;
    private final LongSupplier ticker;
    private final ZContext zmq = new ZContext();
    private final Map<String, Pod> pods = new ConcurrentHashMap<>();
    private final Worker[] workers;
    private final PluginMetrics.Counter events;
    private final PluginMetrics.Counter dropped;
    private final PluginMetrics.Counter gaps;
    private final PluginMetrics.Counter resets;
    private final PluginMetrics.Counter transitions;
    private volatile boolean closed;

    public KvEventSubscriber(KvEventsConfig config, KvEventDecoder decoder, KvEventSink sink, LongSupplier ticker,
                             PluginMetrics metrics) {
        this.config = config;
        this.decoder = decoder;
        this.sink = sink;
        this.ticker = ticker;
        this.events = metrics.counter("epp4j_kv_events_total",
                "KV events applied to the precise prefix index, by pod and event type", "pod", "type");
        this.dropped = metrics.counter("epp4j_kv_events_dropped_total",
                "KV-event messages or events dropped, by pod and reason (frames, msgpack, schema, too_large, "
                        + "queue_full, unknown_type)", "pod", "reason");
        this.gaps = metrics.counter("epp4j_kv_events_sequence_gaps_total",
                "Sequence gaps in a pod's KV events, by outcome (replayed, unrecovered)", "pod", "outcome");
        this.resets = metrics.counter("epp4j_kv_events_sequence_resets_total",
                "Times a pod's KV-event sequence restarted (engine restart); the pod's entries are cleared", "pod");
        this.transitions = metrics.counter("epp4j_kv_events_fallback_transitions_total",
                "Per-pod switches between precise (events) and approximate (fallback) scoring, by new mode and "
                        + "reason (events_healthy, stale, sequence_gap)", "pod", "to", "reason");
        metrics.gauge("epp4j_kv_events_subscribed_pods", "Pods whose KV events this EPP subscribes to",
                () -> pods.size());
        metrics.gauge("epp4j_kv_events_precise_pods", "Subscribed pods currently scored from their KV events",
                () -> pods.values().stream().filter(p -> p.health.precise()).count());
        this.workers = new Worker[Math.max(1, config.concurrency())];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i);
            workers[i].start();
        }
    }

    /** Subscribes to a pod ({@code id} = {@code ip:port}); idempotent. */
    public void addPod(String id, String ip, int servingPort) {
        if (closed) {
            return;
        }
        pods.computeIfAbsent(id, k -> {
            Worker w = workers[Math.floorMod(fnv1a(k), workers.length)];
            Pod pod = new Pod(k, config.subEndpoint(ip, servingPort), config.replayEndpoint(ip, servingPort), w);
            pod.receiver = new Thread(() -> receive(pod), "kv-events-" + k);
            pod.receiver.setDaemon(true);
            pod.receiver.start();
            LOG.info("subscribing to KV events of {} at {}{}", k, pod.endpoint,
                    pod.replayEndpoint == null ? "" : " (replay " + pod.replayEndpoint + ")");
            return pod;
        });
    }

    /**
     * Follows a pod whose batches the caller hands over itself through {@link #deliver} (an in-process publisher,
     * such as a virtual-time simulation), with no socket; idempotent.
     */
    public void follow(String id) {
        if (!closed) {
            pods.computeIfAbsent(id, k -> new Pod(k, null, null, workers[Math.floorMod(fnv1a(k), workers.length)]));
        }
    }

    /**
     * Applies one message of a pod {@linkplain #follow followed} without a socket, on the caller's thread and
     * before returning, exactly as a received one is applied (frame checks, sequence gaps and resets, health).
     */
    public void deliver(String id, String topic, long seq, byte[] payload) {
        Pod pod = pods.get(id);
        if (pod == null || pod.receiver != null) {
            throw new IllegalStateException(id + " is not followed without a socket");
        }
        if (payload.length > decoder.limits().maxPayloadBytes()) {
            drop(pod, "too_large");
            return;
        }
        handle(new Message(pod, topic, seq, payload));
    }

    /** Stops following a pod; the caller forgets its index entries. */
    public void removePod(String id) {
        Pod pod = pods.remove(id);
        if (pod != null) {
            pod.closed = true;
            LOG.info("unsubscribed from KV events of {}", id);
        }
    }

    public boolean subscribed(String id) {
        return pods.containsKey(id);
    }

    /** The pod's health, or null when not subscribed. */
    public PodEventHealth health(String id) {
        Pod pod = pods.get(id);
        return pod == null ? null : pod.health;
    }

    /**
     * The pod's events as an operator sees them, with {@code entries} (the index's count for the pod); null when
     * not subscribed.
     */
    public PreciseIndexStatus.Pod status(String id, int entries) {
        Pod pod = pods.get(id);
        if (pod == null) {
            return null;
        }
        String health = pod.health.state();
        long last = pod.health.lastEventNanos();
        return new PreciseIndexStatus.Pod(entries,
                !config.fallback() || health.equals(PodEventHealth.HEALTHY) ? "events" : "approximate", health,
                pod.lastSeq, last == 0 ? -1 : Math.max(0, (ticker.getAsLong() - last) / 1_000_000),
                pod.batches.get(), pod.droppedCount.get(), pod.gapsReplayed.get(), pod.gapsUnrecovered.get(),
                pod.resetCount.get());
    }

    /** The pods followed ({@code ip:port}). */
    public Set<String> podIds() {
        return Set.copyOf(pods.keySet());
    }

    // ---------------------------------------------------------------------------------------------- receiving

    private void receive(Pod pod) {
        // a publisher silent this long is dialled again: a SUB connection that silently stopped delivering (seen
        // with jeromq under load, and after network trouble) recovers, and a gap it left is replayed as usual
        long redialNanos = Math.max(config.staleAfter().toNanos(), 1_000_000_000L);
        List<byte[]> frames = new ArrayList<>(3);
        while (!pod.closed && !closed) {
            ZMQ.Socket socket = null;
            try {
                socket = zmq.createSocket(SocketType.SUB);
                socket.setRcvHWM(config.queueCapacity());
                socket.setReceiveTimeOut(RECEIVE_POLL_MILLIS);
                socket.subscribe(config.topicFilter().getBytes(StandardCharsets.UTF_8));
                socket.connect(pod.endpoint);
                long lastHeard = System.nanoTime();
                while (!pod.closed && !closed && System.nanoTime() - lastHeard < redialNanos) {
                    byte[] first = socket.recv();
                    if (first == null) {
                        continue;
                    }
                    lastHeard = System.nanoTime();
                    frames.clear();
                    frames.add(first);
                    while (socket.hasReceiveMore()) {
                        byte[] more = socket.recv();
                        if (frames.size() < 4) {
                            frames.add(more);
                        }
                    }
                    offer(pod, frames);
                }
            } catch (ZMQException | IllegalStateException e) {
                if (!closed && !pod.closed) {
                    LOG.warn("KV-event receiver of {} stopped: {}", pod.id, e.toString());
                }
                return;
            } finally {
                if (socket != null) {
                    try {
                        zmq.destroySocket(socket);
                    } catch (RuntimeException ignored) {
                        // the context is closing
                    }
                }
            }
        }
    }

    private void drop(Pod pod, String reason) {
        dropped.inc(pod.id, reason);
        pod.droppedCount.incrementAndGet();
    }

    private void offer(Pod pod, List<byte[]> frames) {
        if (frames.size() != 3 || frames.get(1).length < 8) {
            drop(pod, "frames");
            return;
        }
        if (frames.get(2).length > decoder.limits().maxPayloadBytes()) {
            drop(pod, "too_large");
            return;
        }
        long seq = ByteBuffer.wrap(frames.get(1)).getLong();
        Message m = new Message(pod, new String(frames.get(0), StandardCharsets.UTF_8), seq, frames.get(2));
        if (!pod.worker.queue.offer(m)) {
            drop(pod, "queue_full");
        }
    }

    // ---------------------------------------------------------------------------------------------- applying

    private final class Worker extends Thread {
        final BlockingQueue<Message> queue = new ArrayBlockingQueue<>(Math.max(1, config.queueCapacity()));

        Worker(int i) {
            super("kv-events-worker-" + i);
            setDaemon(true);
        }

        @Override
        public void run() {
            while (!closed) {
                Message m;
                try {
                    m = queue.poll(RECEIVE_POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                if (m == null || m.pod().closed) {
                    continue;
                }
                try {
                    handle(m);
                } catch (RuntimeException e) {
                    drop(m.pod(), "error");
                    LOG.warn("KV events of {}: dropped a batch: {}", m.pod().id, e.toString());
                }
            }
        }
    }

    private void handle(Message m) {
        Pod pod = m.pod();
        if (pod.lastSeq < 0 && m.seq() > 0 && pod.replayEndpoint != null) {
            // a new subscription: what the pod still buffers tells us what it stored before we connected
            pod.lastTopic = m.topic();
            replay(pod, 0, m.seq());
            if (pod.lastSeq >= m.seq()) {
                return;
            }
        }
        if (pod.lastSeq >= 0 && m.seq() <= pod.replayedUpTo) {
            return; // already applied from a replay
        }
        if (pod.lastSeq >= 0 && m.seq() <= pod.lastSeq) {
            resets.inc(pod.id);
            pod.resetCount.incrementAndGet();
            LOG.info("KV events of {}: sequence restarted at {} after {}; clearing its entries", pod.id, m.seq(),
                    pod.lastSeq);
            clear(pod);
        } else if (pod.lastSeq >= 0 && m.seq() > pod.lastSeq + 1) {
            long from = pod.lastSeq + 1;
            if (replay(pod, from, m.seq())) {
                gaps.inc(pod.id, "replayed");
                pod.gapsReplayed.incrementAndGet();
                if (m.seq() <= pod.lastSeq) {
                    return;
                }
            } else {
                gaps.inc(pod.id, "unrecovered");
                pod.gapsUnrecovered.incrementAndGet();
                LOG.warn("KV events of {}: sequence gap {}..{} could not be replayed; clearing its entries", pod.id,
                        from, m.seq() - 1);
                clear(pod);
                pod.health.onUnrecoverableGap();
            }
        }
        apply(pod, m.topic(), m.seq(), m.payload());
    }

    private void clear(Pod pod) {
        if (sink instanceof KvBlockIndex index) {
            index.clear(pod.id);
        } else {
            sink.apply(pod.id, "", List.of(new KvEvent.AllBlocksCleared()));
        }
    }

    private void apply(Pod pod, String topic, long seq, byte[] payload) {
        pod.lastSeq = seq;
        pod.lastTopic = topic;
        KvEventBatch batch;
        try {
            batch = decoder.decode(payload);
        } catch (MalformedEventException e) {
            drop(pod, e.reason());
            return;
        }
        if (batch.unknownEvents() > 0) {
            for (int i = 0; i < batch.unknownEvents(); i++) {
                drop(pod, "unknown_type");
            }
        }
        sink.apply(pod.id, modelOf(topic), batch.events());
        pod.batches.incrementAndGet();
        for (KvEvent e : batch.events()) {
            events.inc(pod.id, e.getClass().getSimpleName());
        }
        pod.health.onEvents();
    }

    /** The model part of {@code kv@<pod>@<model>}, or "" when the topic has another shape. */
    static String modelOf(String topic) {
        String[] parts = topic.split("@", -1);
        return parts.length == 3 ? parts[2] : "";
    }

    /**
     * Asks the pod's replay socket for batches from {@code from}; applies those before {@code until} (and any
     * later ones it sends). True when the replay started exactly at {@code from}.
     */
    private boolean replay(Pod pod, long from, long until) {
        if (pod.replayEndpoint == null) {
            return false;
        }
        ZMQ.Socket dealer = null;
        boolean complete = false;
        try {
            dealer = zmq.createSocket(SocketType.DEALER);
            dealer.setReceiveTimeOut((int) Math.max(1, config.replayTimeout().toMillis()));
            dealer.setLinger(0);
            dealer.connect(pod.replayEndpoint);
            dealer.sendMore(new byte[0]);
            dealer.send(ByteBuffer.allocate(8).putLong(from).array());
            boolean first = true;
            while (!closed && !pod.closed) {
                List<byte[]> frames = new ArrayList<>(4);
                byte[] f = dealer.recv();
                if (f == null) {
                    break; // timed out
                }
                frames.add(f);
                while (dealer.hasReceiveMore()) {
                    frames.add(dealer.recv());
                }
                // [b"", topic, seq, payload] (vLLM >= 0.26) or [b"", seq, payload]
                int n = frames.size();
                if (n < 3 || frames.get(n - 2).length < 8) {
                    drop(pod, "frames");
                    continue;
                }
                long seq = ByteBuffer.wrap(frames.get(n - 2)).getLong();
                if (seq == END_SEQ) {
                    break;
                }
                if (first) {
                    complete = seq <= from;
                    first = false;
                    if (!complete) {
                        break;
                    }
                }
                if (seq <= pod.lastSeq) {
                    continue;
                }
                String topic = n >= 4 ? new String(frames.get(1), StandardCharsets.UTF_8) : pod.lastTopic;
                apply(pod, topic, seq, frames.get(n - 1));
            }
        } catch (ZMQException | IllegalStateException e) {
            LOG.warn("KV-event replay from {} failed: {}", pod.replayEndpoint, e.toString());
            complete = false;
        } finally {
            if (dealer != null) {
                try {
                    zmq.destroySocket(dealer);
                } catch (RuntimeException ignored) {
                    // closing
                }
            }
        }
        pod.replayedUpTo = pod.lastSeq;
        return complete && pod.lastSeq >= until - 1;
    }

    private static int fnv1a(String s) {
        int h = 0x811C9DC5;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x01000193;
        }
        return h;
    }

    @Override
    public void close() {
        closed = true;
        for (Pod p : pods.values()) {
            p.closed = true;
        }
        try {
            for (Pod p : pods.values()) {
                if (p.receiver != null) {
                    p.receiver.join(1000);
                }
            }
            for (Worker w : workers) {
                w.join(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pods.clear();
        zmq.close();
    }
}
