package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.MainProcessTest;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The flood of the reliability issue, against a real EPP process with a small heap: 200 streams on one gateway
 * connection each upload 2 MiB and never finish (400 MiB in all, twice the heap). With the default
 * {@code --max-buffered-body-bytes} (a quarter of the heap) the EPP refuses the streams that do not fit with 429,
 * stays up, and still answers an ordinary request. Without the limit the same flood exhausts the heap (the process
 * exits on OutOfMemoryError). The same on the response side, with a 128 MiB heap: 100 non-streamed responses of
 * 2 MiB that do not end (200 MiB) would each be held to their end; the budget holds the ones that fit and passes
 * the others on as they come, and once the responses end nothing of the budget is left held; the answers queued
 * for the one client stay within the default off-heap limit, since each stream reads its next message only once
 * its answers went out. And a gateway that floods a response while reading no answers gets only a few MiB into the
 * EPP, which holds a few MiB off-heap, before its stream stalls; another connection is answered meanwhile, and once
 * it reads, every answer arrives in order.
 */
class BodyFloodTest {

    private static final int STREAMS = 200;
    private static final int CHUNKS = 8;
    private static final ByteString CHUNK = ByteString.copyFrom(new byte[256 * 1024]);

    @Test
    void floodOfUnfinishedLargeBodiesIsRefusedWith429AndTheEppKeepsAnswering(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("epp.log");
        Process epp = launch(log, "192m");
        ManagedChannel channel = null;
        try {
            Matcher ports = MainProcessTest.awaitStartLine(epp, log);
            channel = Grpc.newChannelBuilderForAddress("127.0.0.1", Integer.parseInt(ports.group(1)),
                    InsecureChannelCredentials.create()).build();
            List<GatewayStream> flood = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                GatewayStream s = GatewayStream.open(channel).send(Messages.requestHeaders(Dialect.ENVOY,
                        Messages.post("/v1/chat/completions", 16 << 20), false, Messages.fullDuplex()));
                for (int c = 0; c < CHUNKS; c++) {
                    s.send(Messages.requestBody(CHUNK, false, null));
                }
                flood.add(s);
            }
            // every stream that did not fit is refused; those that fit hold their bytes and get no answer
            int[] refused = {0};
            List<ProcessingResponse> others = new ArrayList<>();
            List<GatewayStream> pending = new ArrayList<>(flood);
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos(); // 400 MiB on a shared machine
            while (true) {
                pending.removeIf(s -> {
                    ProcessingResponse r = poll(s);
                    if (r == null) {
                        return false;
                    }
                    if (r.hasImmediateResponse() && r.getImmediateResponse().getStatus().getCodeValue() == 429) {
                        refused[0]++;
                    } else {
                        others.add(r);
                    }
                    return true;
                });
                if (refused[0] >= STREAMS * 3 / 4 || !epp.isAlive()) {
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "only " + refused[0] + " streams refused");
                Thread.sleep(20);
            }
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
            assertEquals(List.of(), others, "a flood stream got something other than 429");

            byte[] body = Messages.chatBody("m", false, 200);
            GatewayStream normal = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", body.length), body, 4096));
            ProcessingResponse pick = normal.next(Duration.ofSeconds(20));
            assertTrue(pick.hasRequestHeaders(), "want the pick, got " + pick);
            assertNotNull(Messages.setHeader(pick.getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint"));

            String metrics = EppFixture.metricsText(Integer.parseInt(ports.group(3)));
            assertTrue(metrics.contains("epp4j_limit_rejections_total{limit=\"buffered_body_bytes\"}"), metrics);
            flood.forEach(GatewayStream::cancel);
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
        } finally {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            epp.destroyForcibly();
        }
    }

    @Test
    void floodOfUnfinishedLargeResponsesIsPassedOnUnheldAndTheBudgetEmptiesWhenTheyEnd(@TempDir Path dir)
            throws Exception {
        int streams = 100;
        Path log = dir.resolve("epp.log");
        // each stream reads its next message only once its answers went out, but what gRPC reads ahead within each
        // stream's HTTP/2 window (up to 1 MiB a stream, 100 MiB here) is off-heap too and not yet bounded by the
        // body budget: with the default off-heap limit (the 128 MiB heap) this flood can exhaust it
        Process epp = launch(log, "128m", "-XX:MaxDirectMemorySize=1g", "-XX:NativeMemoryTracking=summary");
        ManagedChannel channel = null;
        try {
            Matcher ports = MainProcessTest.awaitStartLine(epp, log);
            int metricsPort = Integer.parseInt(ports.group(3));
            channel = Grpc.newChannelBuilderForAddress("127.0.0.1", Integer.parseInt(ports.group(1)),
                    InsecureChannelCredentials.create()).build();
            byte[] body = Messages.chatBody("m", false, 200);
            List<GatewayStream> flood = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                flood.add(GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                        Messages.post("/v1/chat/completions", body.length), body, 4096)));
            }
            for (GatewayStream s : flood) {
                s.nextUntilBodyEnd(true); // picked; now the model server answers, 2 MiB that do not end yet
                s.send(Messages.responseHeaders(Dialect.ENVOY, Map.of(":status", "200",
                        "content-type", "application/json"), false, null));
                for (int c = 0; c < CHUNKS; c++) {
                    s.send(Messages.responseBody(CHUNK, false, null));
                }
            }
            // the responses that do not fit the budget come back whole before their end; the others are held
            long[] passed = new long[streams];
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (true) {
                drain(flood, passed);
                long whole = java.util.Arrays.stream(passed).filter(n -> n == (long) CHUNKS * CHUNK.size()).count();
                if (whole >= streams * 3 / 4 || !epp.isAlive()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    fail("only " + whole + " responses passed on; bytes per stream " + java.util.Arrays.toString(passed)
                            + "\n" + EppFixture.metricsText(metricsPort).lines()
                                    .filter(l -> l.startsWith("epp4j_")).toList()
                            + "\n" + MainProcessTest.read(log));
                }
                Thread.sleep(20);
            }
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
            System.out.println("response flood: off-heap " + offHeapBytes(epp) + " bytes");

            GatewayStream normal = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", body.length), body, 4096));
            assertTrue(normal.next(Duration.ofSeconds(20)).hasRequestHeaders(), "an ordinary request is picked");
            String metrics = EppFixture.metricsText(metricsPort);
            assertTrue(metrics.contains("epp4j_limit_rejections_total{limit=\"buffered_response_body_bytes\"}"),
                    metrics);

            // the responses end: the held ones go out whole, and the budget is empty again
            for (GatewayStream s : flood) {
                s.send(Messages.responseBody(new byte[0], true, null));
            }
            Await.until("response bytes given back", () -> {
                drain(flood, passed);
                return metric(metricsPort, "epp4j_buffered_response_body_bytes") == 0;
            });
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
        } finally {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            epp.destroyForcibly();
        }
    }

    @Test
    void gatewayThatStopsReadingAnswersStallsOnlyItsOwnStreamAndGetsEveryAnswerInOrderOnceItReads(@TempDir Path dir)
            throws Exception {
        Path log = dir.resolve("epp.log");
        // the slow gateway offers 32 MiB of response, which it would all push through an EPP that read without
        // looking at its answers: they would pile up off-heap, past this process's 32 MiB
        Process epp = launch(log, "128m", "-XX:MaxDirectMemorySize=64m", "-XX:NativeMemoryTracking=summary");
        ManagedChannel slowChannel = null;
        ManagedChannel channel = null;
        try {
            Matcher ports = MainProcessTest.awaitStartLine(epp, log);
            int grpcPort = Integer.parseInt(ports.group(1));
            int metricsPort = Integer.parseInt(ports.group(3));
            slowChannel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort, InsecureChannelCredentials.create())
                    .build();
            byte[] body = Messages.chatBody("m", true, 200);
            List<ProcessingRequest> flood = new ArrayList<>(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", body.length), body, 4096));
            flood.add(Messages.responseHeaders(Dialect.ENVOY, Map.of(":status", "200",
                    "content-type", "text/event-stream"), false, null));
            int chunks = 128;
            for (int c = 0; c < chunks; c++) {
                byte[] chunk = new byte[256 * 1024];
                java.util.Arrays.fill(chunk, (byte) ('a' + c % 26));
                flood.add(Messages.responseBody(chunk, c == chunks - 1, null));
            }
            SlowGateway slow = new SlowGateway(flood);
            ExternalProcessorGrpc.newStub(slowChannel).process(slow);

            // the EPP stops reading the stream once its answers wait: the gateway's sending stalls, far from the end
            long stalledAt = slow.awaitStall(() -> metric(metricsPort, "epp4j_buffered_answer_bytes") > 0);
            long offHeap = offHeapBytes(epp);
            System.out.println("slow gateway stalled after " + stalledAt + " bytes; answers waiting "
                    + metric(metricsPort, "epp4j_buffered_answer_bytes") + " bytes; off-heap " + offHeap + " bytes");
            assertTrue(stalledAt < 8 << 20, "the EPP read " + stalledAt + " bytes its gateway did not read answers for");
            assertTrue(offHeap < 16 << 20, "the EPP holds " + offHeap + " bytes off-heap");
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
            assertTrue(metric(metricsPort, "epp4j_buffered_answer_bytes") > 0, "answers waiting are counted\n"
                    + MainProcessTest.read(log));

            // another gateway connection is answered as usual meanwhile
            channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcPort, InsecureChannelCredentials.create())
                    .build();
            byte[] small = Messages.chatBody("m", false, 200);
            GatewayStream normal = GatewayStream.open(channel).send(Messages.request(Dialect.ENVOY,
                    Messages.post("/v1/chat/completions", small.length), small, 4096));
            assertTrue(normal.next(Duration.ofSeconds(10)).hasRequestHeaders(), "an ordinary request is picked");

            // the slow gateway reads again: the rest of its flood goes through, every answer in order
            slow.read();
            List<ProcessingResponse> answers = slow.awaitAnswersUntilResponseEnd();
            assertTrue(answers.get(0).hasRequestHeaders(), "the pick first, got " + answers.get(0));
            int responseHeaders = answers.indexOf(answers.stream().filter(ProcessingResponse::hasResponseHeaders)
                    .findFirst().orElseThrow());
            assertEquals(new String(body, java.nio.charset.StandardCharsets.UTF_8), new String(
                    Messages.streamedBody(answers.subList(0, responseHeaders), true),
                    java.nio.charset.StandardCharsets.UTF_8), "the request body, then the response headers");
            byte[] echoed = Messages.streamedBody(answers, false);
            assertEquals(chunks * 256 * 1024, echoed.length);
            for (int c = 0; c < chunks; c++) {
                assertEquals((byte) ('a' + c % 26), echoed[c * 256 * 1024], "chunk " + c + " in its place");
                assertEquals((byte) ('a' + c % 26), echoed[(c + 1) * 256 * 1024 - 1], "chunk " + c + " whole");
            }
            slow.finish();
            Await.until("answer bytes given back", () -> metric(metricsPort, "epp4j_buffered_answer_bytes") == 0);
            assertTrue(epp.isAlive(), "the EPP died:\n" + MainProcessTest.read(log));
        } finally {
            for (ManagedChannel c : new ManagedChannel[] {slowChannel, channel}) {
                if (c != null) {
                    c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
            epp.destroyForcibly();
        }
    }

    /**
     * A gateway that sends its messages as fast as its stream takes them (gRPC's onReady), but reads no answer until
     * {@link #read}: what it managed to send shows what the EPP read meanwhile.
     */
    private static final class SlowGateway implements ClientResponseObserver<ProcessingRequest, ProcessingResponse> {

        private final List<ProcessingRequest> messages;
        private final java.util.concurrent.LinkedBlockingQueue<ProcessingResponse> answers =
                new java.util.concurrent.LinkedBlockingQueue<>();
        private final java.util.concurrent.atomic.AtomicLong sentBytes = new java.util.concurrent.atomic.AtomicLong();
        private ClientCallStreamObserver<ProcessingRequest> requests;
        private int next;

        SlowGateway(List<ProcessingRequest> messages) {
            this.messages = messages;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ProcessingRequest> requestStream) {
            requests = requestStream;
            requestStream.disableAutoRequestWithInitial(0);
            requestStream.setOnReadyHandler(this::pump);
        }

        private synchronized void pump() {
            while (next < messages.size() && requests.isReady()) {
                ProcessingRequest m = messages.get(next++);
                requests.onNext(m);
                sentBytes.addAndGet(m.getSerializedSize());
            }
        }

        /** Bytes sent once sending made no progress for two seconds while {@code waiting} holds (or after 60 s). */
        long awaitStall(java.util.function.BooleanSupplier waiting) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long last = -1;
            int still = 0;
            while (System.nanoTime() < deadline) {
                long now = sentBytes.get();
                still = now == last && now > 0 && waiting.getAsBoolean() ? still + 1 : 0;
                if (still == 4) {
                    return now;
                }
                last = now;
                Thread.sleep(500);
            }
            return sentBytes.get();
        }

        void read() {
            requests.request(Integer.MAX_VALUE);
        }

        List<ProcessingResponse> awaitAnswersUntilResponseEnd() throws InterruptedException {
            List<ProcessingResponse> out = new ArrayList<>();
            while (true) {
                ProcessingResponse r = answers.poll(20, TimeUnit.SECONDS);
                assertNotNull(r, "no answer within 20 s after " + out.size() + " answers, " + sentBytes.get()
                        + " bytes sent of the flood");
                out.add(r);
                if (r.hasResponseBody()
                        && r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse().getEndOfStream()) {
                    return out;
                }
            }
        }

        synchronized void finish() {
            requests.onCompleted();
        }

        @Override
        public void onNext(ProcessingResponse value) {
            answers.add(value);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }

    /**
     * An EPP process with a heap of {@code heap}, the default limits, and its log in {@code log}; {@code jvmOptions}
     * besides.
     */
    private static Process launch(Path log, String heap, String... jvmOptions) throws java.io.IOException {
        List<String> jvm = new ArrayList<>(List.of("-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError",
                "-XX:TieredStopAtLevel=1"));
        jvm.addAll(List.of(jvmOptions));
        return MainProcessTest.launchLogged(log, jvm, "--endpoints=10.0.0.1:8000,10.0.0.2:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false", "--grace-period=1s");
    }

    /** Takes every answer that arrived, adding the response-body bytes of each stream to {@code passed}. */
    private static void drain(List<GatewayStream> streams, long[] passed) {
        for (int i = 0; i < streams.size(); i++) {
            for (ProcessingResponse r; (r = poll(streams.get(i))) != null; ) {
                if (r.hasResponseBody()) {
                    passed[i] += r.getResponseBody().getResponse().getBodyMutation().getStreamedResponse().getBody()
                            .size();
                }
            }
        }
    }

    private static double metric(int port, String series) {
        try {
            for (String line : EppFixture.metricsText(port).split("\n")) {
                if (line.startsWith(series + " ")) {
                    return Double.parseDouble(line.substring(series.length() + 1).trim());
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return -1;
    }

    /**
     * What a process launched with {@code -XX:NativeMemoryTracking=summary} has committed off-heap outside the JVM's
     * own areas: its native memory summary's "Other", where direct buffers (gRPC's transport buffers) are counted.
     */
    private static long offHeapBytes(Process p) throws java.io.IOException {
        Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(p.pid()), "VM.native_memory", "summary", "scale=KB").redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        Matcher m = java.util.regex.Pattern.compile("Other \\(reserved=\\d+KB, committed=(\\d+)KB\\)").matcher(out);
        assertTrue(m.find(), "no off-heap figure in\n" + out);
        return Long.parseLong(m.group(1)) * 1024;
    }

    private static ProcessingResponse poll(GatewayStream s) {
        try {
            return s.poll(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
