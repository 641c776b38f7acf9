package io.epp4j.bench.replay;

import io.epp4j.bench.stack.LocalEpp;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Watches whether the harness (simulated pods, gateway and clients in this JVM) had the CPU it needed while a
 * replay was measured, so a run in which it did not is not read as a measurement of the EPP. Over the measured
 * phase it reads this JVM's and the EPP process's CPU time, the whole machine's busy share ({@code /proc/stat}),
 * and the scheduling delay of a probe thread that asks to wake every millisecond.
 *
 * <p>The run counts as saturated when the machine's cores were at least {@link #BUSY_LIMIT} busy, or when the
 * probe woke more than {@link #PROBE_LIMIT_MS} late at p99: either way the gateway's routing times and the
 * clients' TTFTs include waiting for a core.
 */
final class HarnessWatch {

    /** Busy share of all cores above which the harness is taken to have run out of CPU. */
    static final double BUSY_LIMIT = 0.90;
    /** Probe lateness at p99 above which threads waited for a core. */
    static final double PROBE_LIMIT_MS = 2.0;
    private static final long PROBE_PERIOD_NANOS = 1_000_000;

    /**
     * What the watch saw.
     *
     * @param seconds wall time watched
     * @param cores the cores this JVM may use
     * @param harnessCpuCores cores this JVM used on average (pods, gateway, clients; the EPP too when embedded)
     * @param eppCpuCores cores the EPP's own process used on average, NaN when it ran in this JVM
     * @param machineBusy share of all the machine's cores that were busy (any process), NaN where unknown
     * @param probeDelayP99Ms how late the probe thread woke at p99
     * @param probeDelayMaxMs how late it woke at worst
     * @param responseChunksPerSecond response body messages the gateway forwarded to the EPP a second
     */
    record Verdict(double seconds, int cores, double harnessCpuCores, double eppCpuCores, double machineBusy,
                   double probeDelayP99Ms, double probeDelayMaxMs, double responseChunksPerSecond) {

        boolean saturated() {
            return machineBusy >= BUSY_LIMIT || probeDelayP99Ms > PROBE_LIMIT_MS;
        }

        /** The summary.json fields. */
        void putInto(Map<String, Object> m) {
            m.put("response_chunks_per_s_through_epp", responseChunksPerSecond);
            m.put("harness_saturated", saturated());
            m.put("harness_cpu_cores", harnessCpuCores);
            m.put("epp_cpu_cores", eppCpuCores);
            m.put("machine_cpu_busy", machineBusy);
            m.put("cores", (long) cores);
            m.put("probe_delay_p99_ms", probeDelayP99Ms);
            m.put("probe_delay_max_ms", probeDelayMaxMs);
        }
    }

    private final LocalEpp epp;
    private final long startNanos = System.nanoTime();
    private final long harnessCpuStart = processCpuNanos();
    private final double eppCpuStart;
    private final long[] machineStart = machineJiffies();
    private final Histogram lateness = new Histogram(60_000_000_000L, 2);
    private final Thread probe;
    private volatile boolean running = true;

    private HarnessWatch(LocalEpp epp) {
        this.epp = epp;
        this.eppCpuStart = epp == null ? Double.NaN : epp.cpuSeconds();
        this.probe = new Thread(this::probe, "harness-probe");
        probe.setDaemon(true);
        probe.start();
    }

    /** Starts watching; {@code epp} is the policy's EPP, or null when the gateway balances by itself. */
    static HarnessWatch start(LocalEpp epp) {
        return new HarnessWatch(epp);
    }

    private void probe() {
        while (running) {
            long before = System.nanoTime();
            LockSupport.parkNanos(PROBE_PERIOD_NANOS);
            long late = System.nanoTime() - before - PROBE_PERIOD_NANOS;
            synchronized (lateness) {
                lateness.recordValue(Math.max(0, late));
            }
        }
    }

    /** Stops watching; {@code responseChunks} is how many response messages went to the EPP meanwhile. */
    Verdict stop(long responseChunks) throws InterruptedException {
        running = false;
        probe.join();
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        int cores = Runtime.getRuntime().availableProcessors();
        long harnessCpu = processCpuNanos() - harnessCpuStart;
        double eppCpu = epp == null ? Double.NaN : epp.cpuSeconds() - eppCpuStart;
        long[] machineEnd = machineJiffies();
        double busy = Double.NaN;
        if (machineStart != null && machineEnd != null && machineEnd[0] > machineStart[0]) {
            busy = (double) (machineEnd[1] - machineStart[1]) / (machineEnd[0] - machineStart[0]);
        }
        double p99;
        double max;
        synchronized (lateness) {
            p99 = lateness.getValueAtPercentile(99) / 1e6;
            max = lateness.getMaxValue() / 1e6;
        }
        return new Verdict(seconds, cores, harnessCpu / 1e9 / seconds, eppCpu / seconds, busy, p99, max,
                responseChunks / seconds);
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    /** Total and busy jiffies of all cores from {@code /proc/stat}, or null where there is none. */
    private static long[] machineJiffies() {
        try {
            String cpu = Files.readAllLines(Path.of("/proc/stat")).get(0);
            String[] f = cpu.trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total, total - idle};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
