package io.epp4j.bench.sim;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pod's KV-event publisher, as vLLM's {@code ZmqEventPublisher}: one thread owns a PUB socket and, when configured,
 * a ROUTER socket for replay. Each batch handed to {@link #publish} gets the next sequence number (from 0), goes out
 * as the three frames {@code [topic, seq as 8-byte unsigned big-endian, msgpack batch]} and is kept, the last
 * {@link KvEventsConfig#bufferSteps()} of them, for replay. A replay request {@code [identity, "", start seq]} is
 * answered with {@code [identity, "", topic, seq, payload]} for every kept batch from {@code start} on and the end
 * marker (seq {@code ff..ff}, empty payload).
 *
 * <p>Faults: {@link #stop} (nothing is sent and replay requests wait; batches are still numbered and kept, so a
 * subscriber can replay them later), {@link #skip} (the next batches are numbered and lost, not even kept for replay:
 * a gap that cannot be filled), {@link #restart} (numbering starts again at 0 with an empty replay buffer, as a
 * restarted vLLM's).
 */
public final class KvEventPublisher implements AutoCloseable {

    /** The replay stream's end marker: {@code (-1).to_bytes(8, "big", signed=True)}. */
    static final long END_SEQ = -1;
    /** Batches waiting for the publisher thread; more are dropped (and counted), never block the engine. */
    private static final int QUEUE_CAPACITY = 100_000;
    private static final Object RESTART = new Object();

    private record Pending(double ts, List<KvEvent> events) {
    }

    private record Kept(long seq, byte[] payload) {
    }

    private final KvEventsConfig config;
    private final byte[] topic;
    private final ZContext context = new ZContext(1);
    private final String endpoint;
    private final String replayEndpoint;
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean stopped;
    private final AtomicInteger toSkip = new AtomicInteger();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong nextSeqSeen = new AtomicLong();

    // owned by the publisher thread
    private final ArrayDeque<Kept> buffer = new ArrayDeque<>();
    private long nextSeq;

    /**
     * Starts the publisher thread, which opens the sockets (a ZMQ socket stays in the thread that made it); returns
     * once they are open, so {@link #endpoint()} is known.
     */
    public KvEventPublisher(KvEventsConfig config, String topic, String name) {
        this.config = config;
        this.topic = topic.getBytes(StandardCharsets.UTF_8);
        CompletableFuture<String[]> opened = new CompletableFuture<>();
        thread = new Thread(() -> run(opened), "kv-events-" + name);
        thread.setDaemon(true);
        thread.start();
        try {
            String[] endpoints = opened.get(10, TimeUnit.SECONDS);
            endpoint = endpoints[0];
            replayEndpoint = endpoints[1];
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("interrupted while opening KV-event sockets", e);
        } catch (ExecutionException | TimeoutException e) {
            close();
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("cannot open KV-event sockets " + config.endpoint() + " / "
                    + config.replayEndpoint() + ": " + cause.getMessage(), cause);
        }
    }

    private void run(CompletableFuture<String[]> opened) {
        ZMQ.Socket pub;
        ZMQ.Socket router = null;
        try {
            pub = context.createSocket(SocketType.PUB);
            pub.setSndHWM(config.hwm());
            pub.setLinger(0);
            String pubEndpoint = open(pub, config.endpoint(), KvEventsConfig.binds(config.endpoint()));
            String routerEndpoint = null;
            if (config.replayEndpoint() != null) {
                router = context.createSocket(SocketType.ROUTER);
                router.setLinger(0);
                routerEndpoint = open(router, config.replayEndpoint(), true);
            }
            opened.complete(new String[] {pubEndpoint, routerEndpoint});
        } catch (RuntimeException e) {
            opened.completeExceptionally(e);
            return;
        }
        loop(pub, router);
    }

    /** Binds (resolving a {@code *} port) or connects; returns the endpoint to dial or that was dialled. */
    private static String open(ZMQ.Socket socket, String endpoint, boolean bind) {
        if (!bind) {
            socket.connect(endpoint);
            return endpoint;
        }
        if (!socket.bind(endpoint)) {
            throw new IllegalStateException("bind failed");
        }
        String bound = socket.getLastEndpoint();
        return bound.replace("tcp://0.0.0.0:", "tcp://127.0.0.1:");
    }

    /** The PUB socket's endpoint, with the port resolved (a wildcard host shown as 127.0.0.1). */
    public String endpoint() {
        return endpoint;
    }

    /** The ROUTER socket's endpoint, or null without replay. */
    public String replayEndpoint() {
        return replayEndpoint;
    }

    /** The topic frame. */
    public String topic() {
        return new String(topic, StandardCharsets.UTF_8);
    }

    /** Queues one batch (an engine step's events); never blocks. */
    void publish(double ts, List<KvEvent> events) {
        if (!queue.offer(new Pending(ts, List.copyOf(events)))) {
            dropped.incrementAndGet();
        }
    }

    /** Stops or resumes sending (and answering replay requests). */
    public void stop(boolean stop) {
        this.stopped = stop;
    }

    /** The next {@code batches} batches are numbered but neither sent nor kept for replay. */
    public void skip(int batches) {
        toSkip.addAndGet(batches);
    }

    /** Numbering restarts at 0 and the replay buffer empties, after the batches already queued. */
    void restart() {
        if (!queue.offer(RESTART)) {
            dropped.incrementAndGet();
        }
    }

    /** Batches sent on the PUB socket. */
    public long sent() {
        return sent.get();
    }

    /** Batches numbered but lost to {@link #skip}. */
    public long lost() {
        return lost.get();
    }

    /** The sequence number the next batch will get. */
    public long nextSeq() {
        return nextSeqSeen.get();
    }

    private void loop(ZMQ.Socket pub, ZMQ.Socket router) {
        try {
            while (running) {
                Object item = queue.poll(10, TimeUnit.MILLISECONDS);
                if (item == RESTART) {
                    nextSeq = 0;
                    buffer.clear();
                    nextSeqSeen.set(0);
                } else if (item instanceof Pending p) {
                    send(pub, p);
                }
                if (router != null && !stopped) {
                    serveReplay(router);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            if (running) {
                System.err.println("kv-events publisher stopped: " + e);
                e.printStackTrace();
            }
        }
    }

    private void send(ZMQ.Socket pub, Pending p) {
        long seq = nextSeq++;
        try {
            sendOrLose(pub, seq, p);
        } finally {
            nextSeqSeen.set(nextSeq);
        }
    }

    private void sendOrLose(ZMQ.Socket pub, long seq, Pending p) {
        if (toSkip.get() > 0) {
            toSkip.decrementAndGet();
            lost.incrementAndGet();
            return;
        }
        byte[] payload = KvEventCodec.encode(p.ts(), p.events(), config.encoding());
        buffer.addLast(new Kept(seq, payload));
        if (buffer.size() > config.bufferSteps()) {
            buffer.removeFirst();
        }
        if (stopped) {
            return; // a stopped pod keeps numbering and buffering but sends nothing, not even once resumed
        }
        pub.sendMore(topic);
        pub.sendMore(seqBytes(seq));
        pub.send(payload, 0);
        sent.incrementAndGet();
    }

    private void serveReplay(ZMQ.Socket router) {
        while (true) {
            byte[] identity = router.recv(ZMQ.DONTWAIT);
            if (identity == null) {
                return;
            }
            List<byte[]> frames = new ArrayList<>();
            while (router.hasReceiveMore()) {
                frames.add(router.recv(0));
            }
            if (frames.size() != 2 || frames.get(1).length != 8) {
                continue; // vLLM logs and ignores a malformed request
            }
            long start = ByteBuffer.wrap(frames.get(1)).getLong();
            for (Kept k : buffer) {
                if (Long.compareUnsigned(k.seq(), start) >= 0) {
                    reply(router, identity, k.seq(), k.payload());
                }
            }
            reply(router, identity, END_SEQ, new byte[0]);
        }
    }

    private void reply(ZMQ.Socket router, byte[] identity, long seq, byte[] payload) {
        router.sendMore(identity);
        router.sendMore(new byte[0]);
        router.sendMore(topic);
        router.sendMore(seqBytes(seq));
        router.send(payload, 0);
    }

    static byte[] seqBytes(long seq) {
        return ByteBuffer.allocate(8).putLong(seq).array();
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.close();
    }
}
