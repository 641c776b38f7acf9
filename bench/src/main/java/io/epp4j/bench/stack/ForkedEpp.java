package io.epp4j.bench.stack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One epp4j EPP in a JVM of its own: {@code io.epp4j.epp.Main} on this process's class path (the bench jar holds
 * the EPP), so that the simulated pods, the gateway and the clients do not share its heap, its JIT compilers or its
 * GC pauses, and its CPU use can be read apart from theirs. Its log goes to a temporary file.
 */
public final class ForkedEpp implements LocalEpp {

    private static final Pattern PORTS = Pattern.compile(
            "serving ext_proc on :(\\d+) .*health on :(\\d+), metrics on :(\\d+)");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final Path log;
    private final int grpcPort;
    private final int metricsPort;

    private ForkedEpp(Process process, Path log, int grpcPort, int metricsPort) {
        this.process = process;
        this.log = log;
        this.grpcPort = grpcPort;
        this.metricsPort = metricsPort;
    }

    /** See {@link LocalEpp#start}; waits until the EPP listens. */
    public static ForkedEpp start(List<String> endpoints, boolean tls, String configFile, String... extraArgs)
            throws IOException, InterruptedException {
        return start(List.of(), endpoints, tls, configFile, extraArgs);
    }

    /** The same, the EPP's JVM started with {@code jvmOptions} (such as {@code -Xmx512m}). */
    public static ForkedEpp start(List<String> jvmOptions, List<String> endpoints, boolean tls, String configFile,
                                  String... extraArgs) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.epp4j.epp.Main"));
        command.addAll(LocalEpp.flags(endpoints, tls, configFile, extraArgs));
        Path log = Files.createTempFile("epp4j-forked-epp", ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.readString(log, StandardCharsets.UTF_8);
            Matcher m = PORTS.matcher(text);
            if (m.find()) {
                return new ForkedEpp(p, log, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(3)));
            }
            if (!p.isAlive()) {
                throw new IOException("the EPP exited with " + p.exitValue() + ":\n" + text);
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IOException("the EPP did not start within " + START_TIMEOUT + ":\n" + Files.readString(log));
    }

    @Override
    public int grpcPort() {
        return grpcPort;
    }

    @Override
    public int metricsPort() {
        return metricsPort;
    }

    /** The process's user and system CPU time so far, or NaN where the platform does not tell. */
    @Override
    public double cpuSeconds() {
        return process.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /** The EPP process's id (to attach to its JVM). */
    public long pid() {
        return process.pid();
    }

    /** SIGKILL: the EPP dies at once, as on an OOM kill or a node failure (no graceful stop). */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(15, TimeUnit.SECONDS);
    }

    /** SIGTERM (the EPP's graceful stop), then a kill if it takes too long. */
    @Override
    public void close() throws InterruptedException, IOException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(log);
    }
}
