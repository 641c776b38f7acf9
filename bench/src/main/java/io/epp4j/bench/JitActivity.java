package io.epp4j.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How busy this JVM's JIT compilers have been: benchmarks warm up until it goes quiet, because on 2 cores C2
 * compiling through a measured phase both takes a core and leaves the measured code partly interpreted.
 */
public final class JitActivity {

    private JitActivity() {
    }

    /** Milliseconds the JIT compilers have spent so far, or 0 where the platform does not tell. */
    public static long compileMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }
}
