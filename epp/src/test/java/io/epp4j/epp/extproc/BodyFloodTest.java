package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.MainProcessTest;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.gatewaykit.Messages;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
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
 * the others on as they come, and once the responses end nothing of the budget is left held.
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
        // gRPC's transport buffers (off-heap, by default as large as the heap) are not what this test is about: the
        // answers going back to this one busy client queue there
        Process epp = launch(log, "128m", "-XX:MaxDirectMemorySize=1g");
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

    private static ProcessingResponse poll(GatewayStream s) {
        try {
            return s.poll(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
