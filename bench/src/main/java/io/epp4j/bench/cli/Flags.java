package io.epp4j.bench.cli;

import io.epp4j.epp.EppOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/**
 * Parsed {@code --name value} / {@code --name=value} / {@code --switch} arguments of one command.
 *
 * <p>Every flag a command accepts is declared up front, so a typo is a usage error (exit 2) rather than a
 * silently ignored option.
 */
public final class Flags {

    private final Map<String, String> values;

    private Flags(Map<String, String> values) {
        this.values = values;
    }

    /**
     * Parses {@code args}; {@code valued} are flags that take a value, {@code switches} flags that do not.
     *
     * @throws UsageException on an unknown flag, a missing value or a positional argument
     */
    public static Flags parse(String[] args, Set<String> valued, Set<String> switches) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument: " + arg);
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (switches.contains(name)) {
                values.put(name, value == null ? "true" : value);
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new UsageException("flag --" + name + " needs a value");
                    }
                    value = args[++i];
                }
                values.put(name, value);
            } else {
                throw new UsageException("unknown flag: --" + name);
            }
        }
        return new Flags(values);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String string(String name, String defaultValue) {
        return values.getOrDefault(name, defaultValue);
    }

    public String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("missing required flag --" + name);
        }
        return v;
    }

    public int integer(String name, int defaultValue) {
        return number(name, defaultValue, Integer::valueOf, "an integer");
    }

    public long longValue(String name, long defaultValue) {
        return number(name, defaultValue, Long::valueOf, "an integer");
    }

    public double decimal(String name, double defaultValue) {
        return number(name, defaultValue, Double::valueOf, "a number");
    }

    private <T> T number(String name, T defaultValue, Function<String, T> parse, String expected) {
        String v = values.get(name);
        try {
            return v == null ? defaultValue : parse.apply(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be " + expected + ", got " + v);
        }
    }

    /**
     * A duration flag passed on to the EPP (such as {@code --scrape-interval}, its {@code --refresh-metrics-interval}),
     * checked here with the EPP's own parser so a bad value is a usage error before anything starts.
     */
    public String positiveDuration(String name, String defaultValue) {
        String text = string(name, defaultValue);
        try {
            if (EppOptions.parseDuration(text).compareTo(Duration.ZERO) > 0) {
                return text;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new UsageException("--" + name + " must be a positive duration such as 10ms, not " + text);
    }

    public boolean bool(String name) {
        String v = values.get(name);
        return v != null && !v.equalsIgnoreCase("false");
    }

    /** The non-blank items of a comma-separated list, trimmed. */
    public static List<String> list(String s) {
        List<String> out = new ArrayList<>();
        for (String p : s.split(",")) {
            if (!p.isBlank()) {
                out.add(p.trim());
            }
        }
        return out;
    }

    /** Blocks until the process is asked to stop (Ctrl-C, SIGTERM); the shutdown hook closes {@code resource}. */
    public static void awaitShutdown(AutoCloseable resource) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                resource.close();
            } catch (Exception ignored) {
                // Exiting anyway.
            }
            done.countDown();
        }, "shutdown"));
        done.await();
    }

    /** A command-line mistake: the caller prints usage and exits with status 2. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }
}
