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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The flood of the reliability issue, against a real EPP process with a small heap: 200 streams on one gateway
 * connection each upload 2 MiB and never finish (400 MiB in all, twice the heap). With the default
 * {@code --max-buffered-body-bytes} (a quarter of the heap) the EPP refuses the streams that do not fit with 429,
 * stays up, and still answers an ordinary request. Without the limit the same flood exhausts the heap (the process
 * exits on OutOfMemoryError).
 */
class BodyFloodTest {

    private static final int STREAMS = 200;
    private static final int CHUNKS = 8;
    private static final ByteString CHUNK = ByteString.copyFrom(new byte[256 * 1024]);

    @Test
    void floodOfUnfinishedLargeBodiesIsRefusedWith429AndTheEppKeepsAnswering(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("epp.log");
        Process epp = MainProcessTest.launchLogged(log, List.of("-Xmx192m", "-XX:+ExitOnOutOfMemoryError",
                        "-XX:TieredStopAtLevel=1"), "--endpoints=10.0.0.1:8000,10.0.0.2:8000", "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false", "--grace-period=1s");
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

    private static ProcessingResponse poll(GatewayStream s) {
        try {
            return s.poll(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
