package io.epp4j.bench.jmh;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@link PrometheusParserBenchmark} workloads timed by the benchmark thread's own CPU time rather than wall
 * time. On a shared, overloaded host JMH's wall-clock scores mostly show when the thread was descheduled; CPU
 * time per operation still shows the work done (cache interference from other tenants remains).
 *
 * <p>Run: {@code java -cp bench/target/bench.jar io.epp4j.bench.jmh.ParserCpuTime [rounds] [millisPerRound]}
 */
public final class ParserCpuTime {

    private ParserCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        long roundMillis = args.length > 1 ? Long.parseLong(args[1]) : 1000;
        PrometheusParserBenchmark b = new PrometheusParserBenchmark();
        b.setUp();
        Map<String, Supplier<Object>> variants = new LinkedHashMap<>();
        variants.put("epp4jParse", b::epp4jParse);
        variants.put("epp4jParseAndMap", b::epp4jParseAndMap);
        variants.put("baselineSplit", b::baselineSplit);
        variants.put("baselineRegex", b::baselineRegex);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Object sink = null;
        for (Map.Entry<String, Supplier<Object>> v : variants.entrySet()) {
            double[] usPerOp = new double[rounds];
            for (int r = -3; r < rounds; r++) {
                long ops = 0;
                long cpu0 = threads.getCurrentThreadCpuTime();
                long end = System.nanoTime() + roundMillis * 1_000_000L;
                while (System.nanoTime() < end) {
                    for (int i = 0; i < 64; i++) {
                        sink = v.getValue().get();
                    }
                    ops += 64;
                }
                if (r >= 0) {
                    usPerOp[r] = (threads.getCurrentThreadCpuTime() - cpu0) / 1e3 / ops;
                }
            }
            Arrays.sort(usPerOp);
            System.out.printf("%-18s CPU us/op: median %.1f  min %.1f  max %.1f  (%d rounds of %d ms, 3 warm-up)%n",
                    v.getKey(), usPerOp[rounds / 2], usPerOp[0], usPerOp[rounds - 1], rounds, roundMillis);
        }
        if (sink == null) {
            System.out.println();
        }
    }
}
