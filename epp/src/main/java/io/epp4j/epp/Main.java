package io.epp4j.epp;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** {@code java -jar epp.jar [flags]}: parses the flags, starts the EPP and runs until SIGTERM / SIGINT. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        int code = run(args, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    /** Parses and starts; blocks until shutdown. Returns 2 on bad flags, 1 when the server cannot start. */
    static int run(String[] args, PrintStream err) throws InterruptedException {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-help") || a.equals("-h")) {
                System.out.print(EppOptions.usage());
                return 0;
            }
        }
        EppOptions options;
        try {
            options = EppOptions.parse(args);
        } catch (EppOptions.UsageException e) {
            err.println("epp: " + e.getMessage());
            err.println("Run with --help for the list of flags.");
            return 2;
        }
        configureLogging(options);
        Logger log = LoggerFactory.getLogger(Main.class);
        log.info("epp4j {} starting with flags {}", Version.VERSION, describe(options.asMap()));
        for (String deprecated : options.deprecatedMetricNameFlagsSet()) {
            log.warn("--{} is deprecated and ignored; set metric names in the config file", deprecated);
        }
        if (options.isSet("metrics-endpoint-auth") && options.metricsEndpointAuth()
                && !Wiring.wantsKubernetes(options)) {
            log.info("--metrics-endpoint-auth needs Kubernetes (TokenReview): without --pool-name or "
                    + "--endpoint-selector the metrics port is open; restrict it with a firewall or NetworkPolicy");
        }
        AutoCloseable server;
        try {
            server = options.bbrMode() ? BbrServer.start(options) : EppServer.start(options);
        } catch (Exception e) {
            log.error("Cannot start: {}", e.getMessage(), e);
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("Shutting down (grace period {})", options.gracePeriod());
            try {
                server.close();
            } catch (Exception e) {
                log.warn("Error while stopping", e);
            }
            stopped.countDown();
        }, "epp-shutdown"));
        stopped.await();
        return 0;
    }

    private static String describe(Map<String, String> flags) {
        StringBuilder sb = new StringBuilder("{");
        flags.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(k).append('=')
                .append(k.equals("config-text") && !v.isEmpty() ? "<" + v.length() + " chars>" : v));
        return sb.append('}').toString();
    }

    /**
     * Maps --v (GAIE: 2 default, 3 verbose, 4 debug, 5 trace) or --zap-log-level, and --zap-encoder, onto the EPP's
     * logging backend ({@link io.epp4j.epp.logging.EppLogging}).
     */
    static void configureLogging(EppOptions options) {
        String level = switch (options.zapLogLevel().toLowerCase(Locale.ROOT)) {
            case "debug" -> "debug";
            case "info" -> "info";
            case "warn" -> "warn";
            case "error", "dpanic", "panic", "fatal" -> "error";
            case "" -> levelForVerbosity(options.verbosity());
            default -> {
                try {
                    yield levelForVerbosity(Integer.parseInt(options.zapLogLevel()));
                } catch (NumberFormatException e) {
                    yield "info";
                }
            }
        };
        setIfAbsent("epp4j.log.level", level);
        setIfAbsent("epp4j.log.encoder", options.zapEncoder().equalsIgnoreCase("json") ? "json" : "console");
        setIfAbsent("epp4j.log.level.io.grpc", level.equals("trace") ? "debug" : "warn");
        setIfAbsent("epp4j.log.level.io.grpc.netty", "warn");
    }

    static String levelForVerbosity(int v) {
        if (v >= 5) {
            return "trace";
        }
        if (v >= 4) {
            return "debug";
        }
        return v >= 1 ? "info" : "warn";
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
