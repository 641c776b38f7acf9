package io.epp4j.bench.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How busy this JVM's JIT compilers have been: benchmarks warm up until it goes quiet, because on 2 cores C2
 * compiling through a measured phase both takes a core and leaves the measured code partly interpreted.
 */
public final class JitActivity {

    /** Quiet: the compilers spent at most this share of a stretch of time compiling (a busy C2, ~25%). */
    static final double QUIET_SHARE = 0.02;

    private JitActivity() {
    }

    /** Milliseconds the JIT compilers have spent so far, or 0 where the platform does not tell. */
    public static long compileMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    /** Starts a stretch of time over which {@link Window#quiet} tells whether the JIT was busy. */
    public static Window window() {
        return new Window(compileMillis(), System.nanoTime());
    }

    /** A stretch of time from its start to now. */
    public record Window(long compileMillisAtStart, long startNanos) {
        /** Whether the JIT spent at most {@link #QUIET_SHARE} of the time since the start compiling. */
        public boolean quiet() {
            double elapsedMillis = (System.nanoTime() - startNanos) / 1e6;
            return compileMillis() - compileMillisAtStart <= QUIET_SHARE * elapsedMillis;
        }
    }
}
