package io.epp4j.epp;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.epp4j.epp.extproc.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** Runs {@link Main} as a real process, as {@code java -jar epp.jar} would. */
public class MainProcessTest {

    private static Process launch(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    void unknownFlagExitsWith2AndSaysWhy() throws Exception {
        Process p = launch("--no-such-flag");
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        assertTrue(output.contains("unknown flag: --no-such-flag"), output);
    }

    @Test
    void startsWithStaticEndpointsServesHealthAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("epp.log");
        Process p = launchLogged(log, "--endpoints=10.0.0.1:8000", "--grpc-port=0", "--grpc-health-port=0",
                "--metrics-port=0", "--secure-serving=false");
        try {
            Matcher m = awaitStartLine(p, log);
            String seen = read(log);
            assertTrue(seen.contains("starting with flags {grpc-port=0"), seen);
            int healthPort = Integer.parseInt(m.group(2));
            ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", healthPort,
                    InsecureChannelCredentials.create()).build();
            try {
                HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService("inference-extension").build());
                assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
            } finally {
                channel.shutdownNow();
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String all = read(log);
            assertTrue(all.contains("epp4j stopped"), all);
        } finally {
            p.destroyForcibly();
        }
    }

    /** Starts Main with its output in {@code log}: reading a pipe while the process exits races inside the JDK. */
    public static Process launchLogged(Path log, String... args) throws IOException {
        return launchLogged(log, List.of(), args);
    }

    /** As above, with options for the JVM (e.g. {@code -Xmx192m}). */
    public static Process launchLogged(Path log, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** The start-up line's ports: group 1 ext_proc, 2 health, 3 metrics; fails if the process ends first. */
    public static Matcher awaitStartLine(Process p, Path log) throws InterruptedException {
        Pattern ready = Pattern.compile("ext_proc on :(\\d+) .*health on :(\\d+), metrics on :(\\d+)");
        Matcher[] m = new Matcher[1];
        Await.until("start-up line", () -> {
            Matcher candidate = ready.matcher(read(log));
            if (candidate.find()) {
                m[0] = candidate;
                return true;
            }
            return !p.isAlive();
        });
        assertNotNull(m[0], "no start-up line in:\n" + read(log));
        return m[0];
    }

    public static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
