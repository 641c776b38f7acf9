package io.epp4j.bench.sim;

import io.epp4j.bench.cli.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real simulated pod publishing KV-cache events, read by a real jeromq SUB socket (and a DEALER for replay) while
 * requests go to it over HTTP: the events must say what its prefix cache did, with vLLM's frames and numbering.
 */
class KvEventsTest {

    private static final String MODEL = "Qwen/Qwen3-8B";
    private static final int BLOCK = 16;
    private static final int BLOCK_CHARS = BLOCK * SimConfig.CHARS_PER_TOKEN;

    private final HttpClient client = HttpClient.newHttpClient();
    private final ZContext zmq = new ZContext();
    private SimServer server;
    private ZMQ.Socket sub;
    /** The sequence number the next live message should carry. */
    private long expectedSeq;

    @AfterEach
    void stop() {
        zmq.close();
        if (server != null) {
            server.close();
        }
    }

    /** A pod with {@code kvBlocks} blocks, subscribed to and past the slow-joiner window. */
    private void start(SimConfig config, KvEventsConfig kv) throws Exception {
        server = SimServer.start(config.withTimeScale(1000), "pod-a", 0, kv);
        // until the subscription has reached the publisher, messages are dropped: reset until one arrives, and
        // dial again when none has (under load a jeromq 0.6.0 SUB now and then never got its subscription through)
        Message first = null;
        for (int dial = 0; dial < 3 && first == null; dial++) {
            if (sub != null) {
                sub.close();
            }
            sub = zmq.createSocket(SocketType.SUB);
            sub.subscribe("kv@".getBytes(StandardCharsets.UTF_8));
            sub.connect(server.kvEvents().endpoint());
            for (int i = 0; i < 20 && first == null; i++) {
                post("/reset_prefix_cache", "");
                first = receive();
            }
        }
        assertNotNull(first, "the subscriber receives the pod's events (" + server.kvEvents().sent() + " batches sent)");
        assertEquals(List.of(new KvEvent.AllBlocksCleared()), first.batch.events());
        drain();
        expectedSeq = server.kvEvents().nextSeq();
    }

    private SimConfig lanes(int kvBlocks) {
        return SimConfig.defaults(MODEL).withLoras(List.of("sql-lora"), 2).withCapacity(16, 1000, kvBlocks);
    }

    private record Message(String topic, long seq, KvEventCodec.Batch batch, byte[] payload) {
    }

    /**
     * The next live message, or null when none comes within 200 ms. Polled without blocking: a jeromq 0.6.0 socket
     * waiting in a timed {@code recv} now and then missed messages that arrived meanwhile.
     */
    private Message receive() {
        long deadline = System.nanoTime() + 200_000_000L;
        byte[] topic;
        while ((topic = sub.recv(ZMQ.DONTWAIT)) == null) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            LockSupport.parkNanos(1_000_000);
        }
        assertTrue(sub.hasReceiveMore(), "three frames");
        byte[] seq = sub.recv(0);
        assertTrue(sub.hasReceiveMore(), "three frames");
        byte[] payload = sub.recv(0);
        assertEquals(8, seq.length, "the sequence frame is 8 bytes");
        return new Message(new String(topic, StandardCharsets.UTF_8), ByteBuffer.wrap(seq).getLong(),
                KvEventCodec.decode(payload), payload);
    }

    /** Messages already published, until the pod has sent everything it numbered. */
    private List<Message> drain() {
        List<Message> out = new ArrayList<>();
        Message m;
        while ((m = receive()) != null) {
            out.add(m);
        }
        return out;
    }

    /** Live messages until {@code until} holds for the events received so far. */
    private List<Message> receiveUntil(java.util.function.Predicate<List<KvEvent>> until) {
        List<Message> out = new ArrayList<>();
        List<KvEvent> events = new ArrayList<>();
        for (int idle = 0; idle < 25 && !until.test(events); ) {
            Message m = receive();
            if (m == null) {
                idle++;
                continue;
            }
            out.add(m);
            events.addAll(m.batch.events());
        }
        assertTrue(until.test(events), "expected events arrived: " + events);
        return out;
    }

    private static List<KvEvent> events(List<Message> messages) {
        return messages.stream().flatMap(m -> m.batch.events().stream()).toList();
    }

    private static int storedBlocks(List<KvEvent> events) {
        return events.stream().filter(e -> e instanceof KvEvent.BlockStored)
                .mapToInt(e -> ((KvEvent.BlockStored) e).blockHashes().length).sum();
    }

    private void assertNumberedFrom(List<Message> messages, long first) {
        for (int i = 0; i < messages.size(); i++) {
            assertEquals(first + i, messages.get(i).seq, "consecutive sequence numbers");
        }
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + server.hostPort() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private void complete(String model, String prompt) throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"model\":" + Json.quote(model) + ",\"prompt\":"
                + Json.quote(prompt) + ",\"max_tokens\":2}");
        assertEquals(200, r.statusCode(), r.body());
    }

    private int[] tokenize(String body) throws Exception {
        HttpResponse<String> r = post("/tokenize", body);
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> o = Json.parseObject(r.body());
        List<?> tokens = (List<?>) o.get("tokens");
        assertEquals(tokens.size(), ((Double) o.get("count")).intValue());
        return tokens.stream().mapToInt(t -> ((Double) t).intValue()).toArray();
    }

    /** {@code blocks} full blocks of made-up text, plus {@code tail} characters. */
    private static String text(String seed, int blocks, int tail) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < blocks * BLOCK_CHARS + tail; i++) {
            sb.append(seed).append(' ').append(i).append(' ');
        }
        return sb.substring(0, blocks * BLOCK_CHARS + tail);
    }

    @Test
    void storedBlocksCarryTheTokenIdsTokenizeReturnsAndChainToTheirParent() throws Exception {
        start(lanes(1000), KvEventsConfig.LOOPBACK);
        String shared = text("system prompt", 2, 0);
        String first = shared + text("question one", 1, 10);
        complete(MODEL, first);
        List<Message> got = receiveUntil(e -> storedBlocks(e) >= 3);
        assertNumberedFrom(got, expectedSeq);
        assertEquals("kv@" + server.hostPort() + "@" + MODEL, got.get(0).topic);
        KvEvent.BlockStored stored = (KvEvent.BlockStored) events(got).get(0);
        assertEquals(3, stored.blockHashes().length, "only full blocks are announced");
        assertNull(stored.parentBlockHash(), "the span starts at block 0");
        assertEquals(BLOCK, stored.blockSize());
        assertEquals(KvEvent.GPU, stored.medium());
        assertNull(stored.loraName());
        int[] tokens = tokenize("{\"model\":\"" + MODEL + "\",\"prompt\":" + Json.quote(first) + "}");
        assertEquals(EngineCore.promptTokens(first), tokens.length, "/tokenize counts as usage.prompt_tokens does");
        assertArrayEquals(Arrays.copyOf(tokens, 3 * BLOCK), stored.tokenIds());

        // a prompt sharing two blocks: only its new block is stored, chained to the shared second block
        String second = shared + text("question two", 1, 0);
        complete(MODEL, second);
        List<Message> next = receiveUntil(e -> storedBlocks(e) >= 1);
        assertNumberedFrom(next, got.get(got.size() - 1).seq + 1);
        KvEvent.BlockStored tail = (KvEvent.BlockStored) events(next).get(0);
        assertEquals(1, tail.blockHashes().length);
        assertEquals(stored.blockHashes()[1], tail.parentBlockHash());
        int[] secondTokens = tokenize("{\"prompt\":" + Json.quote(second) + "}");
        assertArrayEquals(Arrays.copyOfRange(secondTokens, 2 * BLOCK, 3 * BLOCK), tail.tokenIds());

        // an adapter's blocks are its own, named in the event
        complete("sql-lora", first);
        KvEvent.BlockStored lora = (KvEvent.BlockStored) events(receiveUntil(e -> storedBlocks(e) >= 3)).get(0);
        assertEquals("sql-lora", lora.loraName());
        assertEquals(1, lora.loraId());
        assertArrayEquals(stored.tokenIds(), lora.tokenIds());
        assertTrue(Arrays.stream(lora.blockHashes()).noneMatch(h -> Arrays.stream(stored.blockHashes())
                .anyMatch(s -> s == h)), "the adapter's blocks hash apart from the base model's");
    }

    @Test
    void stepEngineStoresAPromptOverSeveralStepsAsOneChain() throws Exception {
        SimConfig step = SimConfig.stepDefaults(MODEL, StepProfile.H100_8B);
        step = step.withEngine(EngineModel.STEP, new StepProfile(step.step().name(), step.step().stepOverheadMs(),
                step.step().perTokenMs(), step.step().decodeContextMsPer1k(),
                step.step().prefillAttentionMsPerMPairs(), 64, step.step().maxNumSeqs(), 1000,
                step.step().loraLoadMs(), step.step().kvTransferSetupMs(), step.step().kvTransferMsPerToken()))
                .withCapacity(16, 1000, 1000);
        start(step, KvEventsConfig.LOOPBACK.withEncoding(KvEventCodec.Encoding.ARRAY));
        String prompt = text("chunked prefill", 10, 3);
        complete(MODEL, prompt);
        List<Message> got = receiveUntil(e -> storedBlocks(e) >= 10);
        assertNumberedFrom(got, expectedSeq);
        List<KvEvent.BlockStored> stored = events(got).stream().map(KvEvent.BlockStored.class::cast).toList();
        assertTrue(stored.size() > 1, "a 64-token step budget computes a 163-token prompt over several steps");
        int[] tokens = tokenize("{\"prompt\":" + Json.quote(prompt) + "}");
        Long parent = null;
        int block = 0;
        for (KvEvent.BlockStored s : stored) {
            assertEquals(parent, s.parentBlockHash(), "each span continues the previous one");
            assertArrayEquals(Arrays.copyOfRange(tokens, block * BLOCK, (block + s.blockHashes().length) * BLOCK),
                    s.tokenIds());
            block += s.blockHashes().length;
            parent = s.blockHashes()[s.blockHashes().length - 1];
        }
        assertEquals(10, block);
    }

    @Test
    void evictionsArePublishedAndTheEventsAccountForEveryResidentBlock() throws Exception {
        start(lanes(12), KvEventsConfig.LOOPBACK);
        Set<Long> resident = new HashSet<>();
        List<KvEvent> all = new ArrayList<>();
        for (String seed : List.of("alpha", "beta", "gamma", "delta")) {
            complete(MODEL, text(seed, 5, 0));
            List<KvEvent> events = events(receiveUntil(e -> storedBlocks(e) >= 5));
            all.addAll(events);
            for (KvEvent e : events) {
                if (e instanceof KvEvent.BlockStored s) {
                    Arrays.stream(s.blockHashes()).forEach(h -> assertTrue(resident.add(h), "stored once"));
                } else if (e instanceof KvEvent.BlockRemoved r) {
                    assertEquals(1, r.blockHashes().length, "one removal per evicted block, as vLLM sends");
                    assertTrue(resident.remove(r.blockHashes()[0]), "only a stored block is removed");
                }
            }
        }
        assertTrue(all.stream().anyMatch(e -> e instanceof KvEvent.BlockRemoved),
                "a 12-block cache evicts for the third 5-block prompt");
        assertEquals(server.snapshot().residentBlocks(), resident.size(),
                "stored minus removed is what the cache holds");
    }

    @Test
    void resetAndRestartClearEverythingAndARestartNumbersFromZero() throws Exception {
        start(lanes(1000), KvEventsConfig.LOOPBACK);
        complete(MODEL, text("before restart", 3, 0));
        receiveUntil(e -> storedBlocks(e) >= 3);
        post("/reset_prefix_cache", "");
        assertEquals(List.of(new KvEvent.AllBlocksCleared()), events(receiveUntil(e -> !e.isEmpty())));

        complete(MODEL, text("again", 3, 0));
        receiveUntil(e -> storedBlocks(e) >= 3);
        assertEquals(200, post("/sim/restart", "").statusCode());
        List<Message> after = receiveUntil(e -> e.contains(new KvEvent.AllBlocksCleared()));
        Message cleared = after.get(after.size() - 1);
        assertEquals(0, cleared.seq, "a restarted pod numbers from 0");
        assertEquals(0, server.snapshot().residentBlocks());
        complete(MODEL, text("after restart", 2, 0));
        assertNumberedFrom(receiveUntil(e -> storedBlocks(e) >= 2), 1);
    }

    @Test
    void replayAnswersEveryKeptBatchFromTheRequestedSequenceThenTheEndMarker() throws Exception {
        start(lanes(1000), KvEventsConfig.LOOPBACK);
        List<Message> live = new ArrayList<>();
        for (String seed : List.of("one", "two", "three")) {
            complete(MODEL, text(seed, 2, 0));
            live.addAll(receiveUntil(e -> storedBlocks(e) >= 2));
        }
        List<Message> replayed = replay(live.get(1).seq);
        assertEquals(live.size() - 1, replayed.size());
        for (int i = 0; i < replayed.size(); i++) {
            Message l = live.get(i + 1);
            assertEquals(l.seq, replayed.get(i).seq);
            assertEquals(l.topic, replayed.get(i).topic, "replies carry the topic frame");
            assertArrayEquals(l.payload, replayed.get(i).payload);
        }
    }

    /**
     * A DEALER's replay request {@code ["", start]}; the replies {@code ["", topic, seq, payload]} before the end. Each
     * attempt has a context of its own, and an unanswered request is sent again from a new DEALER (as llm-d's replay
     * client retries): under load a jeromq 0.6.0 DEALER now and then never saw replies the pod had sent.
     */
    private List<Message> replay(long start) {
        for (int attempt = 1; ; attempt++) {
            try (ZContext own = new ZContext()) {
                List<Message> out = replay(own, start);
                if (out != null || attempt == 3) {
                    assertNotNull(out, "the replay answers");
                    return out;
                }
            }
        }
    }

    private List<Message> replay(ZContext context, long start) {
        ZMQ.Socket dealer = context.createSocket(SocketType.DEALER);
        dealer.setReceiveTimeOut(2000);
        dealer.connect(server.kvEvents().replayEndpoint());
        dealer.sendMore(new byte[0]);
        dealer.send(ByteBuffer.allocate(8).putLong(start).array(), 0);
        List<Message> out = new ArrayList<>();
        while (true) {
            byte[] empty = dealer.recv(0);
            if (empty == null && out.isEmpty()) {
                dealer.close();
                return null;
            }
            assertNotNull(empty, "the replay goes on to its end marker");
            assertEquals(0, empty.length);
            String topic = new String(dealer.recv(0), StandardCharsets.UTF_8);
            long seq = ByteBuffer.wrap(dealer.recv(0)).getLong();
            byte[] payload = dealer.recv(0);
            if (seq == -1) {
                assertEquals(0, payload.length, "the end marker has an empty payload");
                dealer.close();
                return out;
            }
            out.add(new Message(topic, seq, KvEventCodec.decode(payload), payload));
        }
    }

    @Test
    void stoppedEventsLeaveAGapReplayFillsAndSkippedOnesAGapItCannot() throws Exception {
        start(lanes(1000), KvEventsConfig.LOOPBACK);
        assertEquals(200, post("/sim/faults", "kv-stop").statusCode());
        long stoppedAt = server.kvEvents().nextSeq();
        complete(MODEL, text("while stopped", 2, 0));
        assertTrue(drain().isEmpty(), "a stopped pod sends nothing");
        assertTrue(server.kvEvents().nextSeq() > stoppedAt, "but it still numbers its batches");

        assertEquals(200, post("/sim/faults", "none").statusCode());
        complete(MODEL, text("resumed", 2, 0));
        Message resumed = receiveUntil(e -> storedBlocks(e) >= 2).get(0);
        assertTrue(resumed.seq > stoppedAt, "the subscriber sees a gap");
        List<Message> filled = replay(stoppedAt);
        assertEquals(stoppedAt, filled.get(0).seq, "the replay fills the gap from its first number");
        assertEquals(2, storedBlocks(filled.stream().filter(m -> m.seq < resumed.seq)
                .flatMap(m -> m.batch.events().stream()).toList()));

        assertEquals(200, post("/sim/faults", "kv-skip=1").statusCode());
        long lostSeq = server.kvEvents().nextSeq();
        complete(MODEL, text("lost", 2, 0));
        complete(MODEL, text("after the loss", 2, 0));
        Message afterLoss = receiveUntil(e -> storedBlocks(e) >= 2).get(0);
        assertEquals(lostSeq + 1, afterLoss.seq, "one batch was lost");
        assertTrue(replay(lostSeq).get(0).seq > lostSeq, "the lost batch cannot be replayed");
        assertEquals(1, server.kvEvents().lost());
    }

    @Test
    void tokenizeAndRenderAgreeOnTheServedPrompt() throws Exception {
        start(lanes(1000), KvEventsConfig.LOOPBACK);
        String messages = "[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hello there\"}]";
        int[] chat = tokenize("{\"model\":\"" + MODEL + "\",\"messages\":" + messages + "}");
        HttpResponse<String> r = post("/v1/chat/completions/render", "{\"model\":\"" + MODEL + "\",\"messages\":"
                + messages + "}");
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> rendered = Json.parseObject(r.body());
        assertArrayEquals(chat, ((List<?>) rendered.get("token_ids")).stream()
                .mapToInt(t -> ((Double) t).intValue()).toArray());
        assertEquals(MODEL, rendered.get("model"));

        HttpResponse<String> c = post("/v1/completions/render", "{\"model\":\"" + MODEL
                + "\",\"prompt\":[\"abcdefgh\",\"xyz\"]}");
        assertEquals(200, c.statusCode(), c.body());
        List<?> items = (List<?>) Json.parse(c.body());
        assertEquals(2, items.size(), "one rendered prompt per prompt");
        assertEquals(2, ((List<?>) ((Map<?, ?>) items.get(0)).get("token_ids")).size());
        assertEquals(1, ((List<?>) ((Map<?, ?>) items.get(1)).get("token_ids")).size());
        assertEquals(404, post("/tokenize", "{\"model\":\"nope\",\"prompt\":\"x\"}").statusCode());
        assertEquals(400, post("/tokenize", "{\"model\":\"" + MODEL + "\"}").statusCode());
    }
}
