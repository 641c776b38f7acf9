package io.epp4j.bench.jmh;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The {@link SchedulerBenchmark} workloads timed in thread CPU time instead of wall time: on a machine shared with
 * other busy processes (load far above the core count) wall-clock JMH figures include time the thread spent
 * descheduled; CPU time does not. Same states, same setup; 2 s warm-up then 3 s measured per case.
 *
 * <pre>
 * java -cp bench/target/bench.jar io.epp4j.bench.jmh.SchedulerCpuTime          # everything
 * java -cp bench/target/bench.jar io.epp4j.bench.jmh.SchedulerCpuTime hash     # hashing only
 * </pre>
 */
public final class SchedulerCpuTime {

    private SchedulerCpuTime() {
    }

    interface Op {
        Object run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.printf("%-34s %10s %8s%n", "case", "cpu-us/op", "ops");
        boolean hashOnly = args.length > 0 && args[0].equals("hash");
        for (String profile : hashOnly ? new String[0] : new String[] {"random-picker-only", "default"}) {
            for (int endpoints : new int[] {8, 64, 256, 1024}) {
                for (int promptBytes : new int[] {1024, 102400}) {
                    SchedulerBenchmark b = new SchedulerBenchmark();
                    b.profile = profile;
                    b.endpoints = endpoints;
                    b.promptBytes = promptBytes;
                    b.setUp();
                    report(mx, profile + " " + endpoints + "ep " + promptBytes + "B", b::cycle);
                    b.tearDown();
                }
            }
        }
        SchedulerBenchmark.Hashing h = new SchedulerBenchmark.Hashing();
        h.setUp();
        report(mx, "hash 400KB all blocks", h::hash400KbAllBlocks);
        report(mx, "hash 400KB default 256 blocks", h::hash400KbDefaultMaxBlocks);
    }

    static void report(ThreadMXBean mx, String name, Op op) throws Exception {
        long sink = 0;
        long end = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < end) {
            sink += op.run().hashCode();
        }
        long ops = 0;
        long cpu0 = mx.getCurrentThreadCpuTime();
        end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end) {
            sink += op.run().hashCode();
            ops++;
        }
        long cpu = mx.getCurrentThreadCpuTime() - cpu0;
        System.out.printf("%-34s %10.2f %8d%s%n", name, cpu / 1e3 / ops, ops, sink == 42 ? " " : "");
    }
}
