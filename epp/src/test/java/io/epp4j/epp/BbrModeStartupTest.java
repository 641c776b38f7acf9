package io.epp4j.epp;

import io.epp4j.epp.EppOptions.UsageException;
import io.epp4j.epp.extproc.Await;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@code java -jar epp.jar --mode bbr}: its flags, GAIE's BBR port defaults, and the real process. */
class BbrModeStartupTest {

    @Test
    void bbrModeTakesGaiesBbrPortsAndNeedsNoPool() throws Exception {
        EppOptions o = EppOptions.parse(Map.of(), "--mode", "bbr");
        assertTrue(o.bbrMode());
        assertEquals(9004, o.grpcPort());
        assertEquals(9005, o.grpcHealthPort());
        assertEquals(9090, o.metricsPort());
        assertTrue(o.secureServing(), "TLS by default, as GAIE's BBR");
        assertEquals("9004", o.asMap().get("grpc-port"));
        EppOptions explicit = EppOptions.parse(Map.of(), "--mode=bbr", "--grpc-port=7000", "--grpc-health-port=7001");
        assertEquals(7000, explicit.grpcPort());
        assertEquals(7001, explicit.grpcHealthPort());
        EppOptions epp = EppOptions.parse(Map.of(), "--pool-name=p");
        assertEquals(9002, epp.grpcPort());
        assertEquals(9003, epp.grpcHealthPort());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--mode=router                                    | want epp or bbr",
        "--mode=bbr --pool-name=p                         | --pool-name is not used in --mode bbr",
        "--mode=bbr --base-model-map=m --base-model-cel=x | mutually exclusive",
        "--pool-name=p --base-model-map=m                 | --base-model-map is a --mode bbr flag",
    })
    void badBbrCommandLinesAreRejected(String commandLine, String message) {
        UsageException e = assertThrows(UsageException.class,
                () -> EppOptions.parse(Map.of(), commandLine.trim().split(" +")));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void startsServesHealthAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        Path map = dir.resolve("map.yaml");
        Files.writeString(map, "food-review-1: Qwen/Qwen3-0.6B\n");
        Path log = dir.resolve("bbr.log");
        Process p = MainProcessTest.launchLogged(log, "--mode", "bbr", "--base-model-map", map.toString(), "--grpc-port=0",
                "--grpc-health-port=0", "--metrics-port=0", "--secure-serving=false", "--decision-threads=2");
        try {
            Matcher m = MainProcessTest.awaitStartLine(p, log);
            String started = MainProcessTest.read(log);
            assertTrue(started.contains("body-based router serving ext_proc"), started);
            assertTrue(started.contains("[--decision-threads] have no effect in --mode bbr"), started);
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", Integer.parseInt(m.group(2)),
                    InsecureChannelCredentials.create()).build();
            try {
                HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().build());
                assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
            } finally {
                channel.shutdownNow();
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertTrue(MainProcessTest.read(log).contains("body-based router stopped"), MainProcessTest.read(log));
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aBadCelExpressionExitsWith1AndPointsAtTheError(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("bbr.log");
        Process p = MainProcessTest.launchLogged(log, "--mode=bbr", "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0",
                "--base-model-cel={\"a\": \"b\"}[json(request.body).modl");
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue());
        String out = MainProcessTest.read(log);
        assertTrue(out.contains("invalid --base-model-cel expression") && out.contains("<input>:1:"), out);
    }
}
