package io.epp4j.epp;

import io.epp4j.epp.endpoints.HostPort;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The EPP's command-line flags: GAIE v1.5.0's names and defaults where GAIE has the flag, plus epp4j's own
 * (static endpoints, body limit, fallbacks, grace period). Immutable once parsed.
 *
 * <p>Accepted forms: {@code --flag value}, {@code --flag=value}, a single dash ({@code -v 3}), and for booleans
 * {@code --flag} alone or {@code --flag=false}. Durations are Go-style ({@code 50ms}, {@code 5s}, {@code 1m30s}).
 * Flags of features another component implements (Kubernetes, scraping, config) are stored for it.
 */
public final class EppOptions {

    /** A bad command line; its message is meant for the user (Main prints it and exits with 2). */
    public static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }

    public static final long DEFAULT_MAX_REQUEST_BODY_BYTES = 16L * 1024 * 1024;

    private enum Kind { STRING, INT, BOOL, DURATION, INT_LIST }

    private record Flag(String name, Kind kind, String defaultValue, String help) {
    }

    private static final Map<String, Flag> FLAGS = new LinkedHashMap<>();

    private static void flag(String name, Kind kind, String defaultValue, String help) {
        FLAGS.put(name, new Flag(name, kind, defaultValue, help));
    }

    static {
        flag("grpc-port", Kind.INT, "9002", "gRPC port of the ext_proc service (9004 in --mode bbr)");
        flag("grpc-health-port", Kind.INT, "9003", "gRPC port of the grpc.health.v1 service (9005 in --mode bbr)");
        flag("metrics-port", Kind.INT, "9090", "HTTP port of /metrics");
        flag("pool-name", Kind.STRING, "", "InferencePool to serve (Kubernetes mode)");
        flag("pool-namespace", Kind.STRING, "", "namespace of the pool (default: env NAMESPACE, else default)");
        flag("pool-group", Kind.STRING, "inference.networking.k8s.io", "API group of the pool");
        flag("endpoint-selector", Kind.STRING, "", "standalone Kubernetes mode: pod label selector k=v,...");
        flag("endpoint-target-ports", Kind.INT_LIST, "", "standalone Kubernetes mode: target ports (1-8)");
        flag("disable-endpoint-subset-filter", Kind.BOOL, "false", "ignore the gateway's subset hint");
        flag("ha-enable-leader-election", Kind.BOOL, "false", "active-passive HA via a Lease");
        flag("ha-mode", Kind.STRING, "active-passive",
                "with leader election: active-passive (only the Lease holder is ready) or active-active (all are)");
        flag("ha-lease-duration", Kind.DURATION, "15s", "leader election: Lease duration (whole seconds)");
        flag("ha-renew-deadline", Kind.DURATION, "10s", "leader election: how long the leader tries to renew");
        flag("ha-retry-period", Kind.DURATION, "2s", "leader election: period between acquire/renew attempts");
        flag("config-file", Kind.STRING, "", "EndpointPickerConfig file");
        flag("config-text", Kind.STRING, "", "EndpointPickerConfig as text");
        flag("plugins-dir", Kind.STRING, "", "directory of plugin jars");
        flag("refresh-metrics-interval", Kind.DURATION, "50ms", "model-server scrape period");
        flag("refresh-prometheus-metrics-interval", Kind.DURATION, "5s", "pool gauge refresh period");
        flag("metrics-staleness-threshold", Kind.DURATION, "2s", "age after which scraped metrics are stale");
        flag("secure-serving", Kind.BOOL, "true", "serve ext_proc over TLS");
        flag("cert-path", Kind.STRING, "", "directory with tls.crt and tls.key (default: self-signed)");
        flag("enable-cert-reload", Kind.BOOL, "false", "reload the certificate when files in --cert-path change");
        flag("health-checking", Kind.BOOL, "false", "also serve grpc.health.v1 on the ext_proc port");
        flag("metrics-endpoint-auth", Kind.BOOL, "true", "accepted for chart compatibility; /metrics is open");
        flag("enable-pprof", Kind.BOOL, "true", "accepted for chart compatibility; no pprof in Java");
        flag("tracing", Kind.BOOL, "false",
                "trace requests with OpenTelemetry, exported as the OTEL_* variables say (the chart sets them)");
        flag("v", Kind.INT, "2", "verbosity: 2 default, 3 verbose, 4 debug (per-request lines), 5 trace");
        flag("zap-encoder", Kind.STRING, "console", "log lines as plain text (console) or JSON objects (json)");
        flag("zap-log-level", Kind.STRING, "", "debug|info|warn|error or a number (overrides --v)");
        flag("zap-devel", Kind.BOOL, "true", "accepted for compatibility");
        flag("zap-stacktrace-level", Kind.STRING, "", "accepted for compatibility");
        flag("zap-time-encoding", Kind.STRING, "", "accepted for compatibility");
        flag("model-server-metrics-scheme", Kind.STRING, "http", "deprecated: scrape scheme (http|https)");
        flag("model-server-metrics-path", Kind.STRING, "/metrics", "deprecated: scrape path");
        flag("model-server-metrics-port", Kind.INT, "0", "deprecated: scrape port (0: the target port)");
        flag("model-server-metrics-https-insecure-skip-verify", Kind.BOOL, "true", "deprecated: skip TLS checks");
        flag("total-queued-requests-metric", Kind.STRING, "", "deprecated: use the config file");
        flag("total-running-requests-metric", Kind.STRING, "", "deprecated: use the config file");
        flag("kv-cache-usage-percentage-metric", Kind.STRING, "", "deprecated: use the config file");
        flag("lora-info-metric", Kind.STRING, "", "deprecated: use the config file");
        flag("cache-info-metric", Kind.STRING, "", "deprecated: use the config file");
        flag("endpoints", Kind.STRING, "", "static endpoints ip:port[,ip:port...] (no Kubernetes)");
        flag("endpoints-file", Kind.STRING, "", "file of static endpoints, one ip:port a line, reloaded on change");
        flag("inference-objectives-file", Kind.STRING, "",
                "static mode: InferenceObjective resources (the CRD's YAML, multi-document) giving request "
                        + "priorities, reloaded on change");
        flag("max-request-body-bytes", Kind.STRING, String.valueOf(DEFAULT_MAX_REQUEST_BODY_BYTES),
                "largest request body accepted (413 above); suffixes Ki, Mi, Gi");
        flag("max-buffered-body-bytes", Kind.STRING, "25%",
                "request-body bytes buffered across all streams at most (429 above); a size, or a percentage of "
                        + "the JVM's max heap; 0: no limit");
        flag("max-concurrent-streams", Kind.INT, "10000",
                "ext_proc streams open at once at most; a stream beyond gets 429 (0: no limit)");
        flag("max-request-header-count", Kind.INT, "500", "request headers a request may carry (431 above; 0: no limit)");
        flag("max-request-header-bytes", Kind.STRING, "256Ki",
                "total size of a request's header names and values (431 above; 0: no limit)");
        flag("max-endpoint-in-flight", Kind.INT, "0",
                "requests in flight from this EPP that take an endpoint out of the candidates; all at it: 429 "
                        + "(0: no limit)");
        flag("max-connection-age", Kind.DURATION, "0",
                "close gateway connections (HTTP/2 GOAWAY) after this age, so gateways rebalance over replicas "
                        + "(0: never)");
        flag("max-connection-age-grace", Kind.DURATION, "10m",
                "after the GOAWAY, how long open streams of the old connection may still run");
        flag("client-ca", Kind.STRING, "",
                "PEM file or directory of CA certificates: only clients with a certificate they signed may call "
                        + "ext_proc (mutual TLS; re-read on change)");
        flag("client-san-allow", Kind.STRING, "",
                "with --client-ca: comma list of client identities (DNS, URI, IP or email SANs) allowed to call");
        flag("destination-endpoint-fallbacks", Kind.BOOL, "false",
                "put fallback endpoints in x-gateway-destination-endpoint as a comma list (not for agentgateway)");
        flag("lb-metadata-scores", Kind.BOOL, "false",
                "also send each candidate's weighted score in envoy.lb dynamic metadata (x-gateway-endpoint-scores)");
        flag("enable-models-endpoint", Kind.BOOL, "false",
                "answer GET /v1/models with the models and LoRA adapters of every pod in the pool, merged (else the "
                        + "request goes to a random pod)");
        flag("grace-period", Kind.DURATION, "20s", "how long shutdown waits for in-flight streams");
        flag("mode", Kind.STRING, "epp", "epp (endpoint picker) or bbr (body-based router in front of route matching)");
        flag("base-model-map", Kind.STRING, "",
                "--mode bbr: YAML file of model-or-adapter: base-model lines, reloaded on change");
        flag("base-model-cel", Kind.STRING, "",
                "--mode bbr: CEL expression giving the base model, as agentgateway writes it");
        flag("decision-threads", Kind.INT, String.valueOf(Runtime.getRuntime().availableProcessors()),
                "threads that parse and schedule requests off the gRPC transport threads (0: on them)");
    }

    private static final List<String> DEPRECATED_METRIC_NAME_FLAGS = List.of("total-queued-requests-metric",
            "total-running-requests-metric", "kv-cache-usage-percentage-metric", "lora-info-metric",
            "cache-info-metric");

    private final Map<String, String> values;
    private final List<String> explicitlySet;
    private final Map<String, String> environment;

    private EppOptions(Map<String, String> values, List<String> explicitlySet, Map<String, String> environment) {
        this.values = values;
        this.explicitlySet = explicitlySet;
        this.environment = environment;
    }

    /** Parses a command line, reading {@code NAMESPACE} from the process environment. */
    public static EppOptions parse(String... args) throws UsageException {
        return parse(System.getenv(), args);
    }

    /** Parses a command line against the given environment (tests). */
    public static EppOptions parse(Map<String, String> environment, String... args) throws UsageException {
        Map<String, String> values = new LinkedHashMap<>();
        FLAGS.values().forEach(f -> values.put(f.name(), f.defaultValue()));
        List<String> set = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("-") || arg.equals("-") || arg.equals("--")) {
                throw new UsageException("unexpected argument \"" + arg + "\" (flags start with --)");
            }
            String body = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
            String name = body;
            String value = null;
            int eq = body.indexOf('=');
            if (eq >= 0) {
                name = body.substring(0, eq);
                value = body.substring(eq + 1);
            }
            Flag flag = FLAGS.get(name);
            if (flag == null) {
                throw new UsageException("unknown flag: --" + name);
            }
            if (value == null) {
                if (flag.kind() == Kind.BOOL) {
                    value = "true";
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw new UsageException("flag needs an argument: --" + name);
                }
            }
            validate(flag, value);
            values.put(name, value);
            set.add(name);
        }
        EppOptions options = new EppOptions(Collections.unmodifiableMap(values), List.copyOf(set),
                Map.copyOf(environment));
        options.validateCombination();
        return options;
    }

    private static void validate(Flag flag, String value) throws UsageException {
        String problem = switch (flag.kind()) {
            case STRING -> null;
            case INT -> tryParse(value, Integer::parseInt);
            case BOOL -> value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")
                    || value.equals("1") || value.equals("0") ? null : "want true or false";
            case DURATION -> tryParse(value, EppOptions::parseDuration);
            case INT_LIST -> tryParse(value, EppOptions::parseIntList);
        };
        if (problem == null && flag.name().endsWith("port") && !value.isEmpty()) {
            int port = Integer.parseInt(value);
            if (port < 0 || port > 65535) {
                problem = "port out of range";
            }
        }
        if (problem == null && (flag.name().equals("max-request-body-bytes")
                || flag.name().equals("max-request-header-bytes"))) {
            problem = tryParse(value, EppOptions::parseSize);
        }
        if (problem == null && flag.name().equals("max-buffered-body-bytes")) {
            problem = tryParse(value, v -> sizeOrShareOfHeap(v, 1));
        }
        if (problem != null) {
            throw new UsageException("invalid value \"" + value + "\" for flag --" + flag.name() + ": " + problem);
        }
    }

    private static String tryParse(String value, Function<String, Object> parser) {
        try {
            parser.apply(value);
            return null;
        } catch (RuntimeException e) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
    }

    private void validateCombination() throws UsageException {
        if (!mode().equals("epp") && !mode().equals("bbr")) {
            throw new UsageException("invalid value \"" + mode() + "\" for flag --mode: want epp or bbr");
        }
        if (bbrMode()) {
            validateBbr();
            return;
        }
        for (String bbrOnly : List.of("base-model-map", "base-model-cel")) {
            if (explicitlySet.contains(bbrOnly)) {
                throw new UsageException("--" + bbrOnly + " is a --mode bbr flag");
            }
        }
        int sources = 0;
        for (String source : List.of("endpoints", "endpoints-file", "pool-name", "endpoint-selector")) {
            if (explicitlySet.contains(source)) {
                sources++;
            }
        }
        if (sources != 1) {
            throw new UsageException("exactly one of --endpoints, --endpoints-file, --pool-name or "
                    + "--endpoint-selector is required" + (sources > 1 ? " (several given)" : ""));
        }
        if (explicitlySet.contains("inference-objectives-file") && !staticMode()) {
            throw new UsageException("--inference-objectives-file is for --endpoints/--endpoints-file; with a pool, "
                    + "InferenceObjectives come from the Kubernetes API");
        }
        if (!configFile().isEmpty() && !configText().isEmpty()) {
            throw new UsageException("--config-file and --config-text are mutually exclusive");
        }
        String scheme = modelServerMetricsScheme();
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new UsageException("invalid value \"" + scheme + "\" for flag --model-server-metrics-scheme: "
                    + "want http or https");
        }
        List<Integer> ports = endpointTargetPorts();
        if (ports.size() > 8) {
            throw new UsageException("--endpoint-target-ports takes at most 8 ports");
        }
        if (explicitlySet.contains("endpoint-selector") && ports.isEmpty()) {
            throw new UsageException("--endpoint-selector needs --endpoint-target-ports");
        }
        try {
            for (var address : staticEndpoints()) {
                if (address.port() <= 0) {
                    throw new IllegalArgumentException("port must be 1-65535");
                }
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException("invalid value for flag --endpoints: " + e.getMessage());
        }
        if (decisionThreads() < 0) {
            throw new UsageException("--decision-threads must be >= 0");
        }
        if (maxRequestBodyBytes() <= 0) {
            throw new UsageException("--max-request-body-bytes must be positive");
        }
        validateLimits();
        if (explicitlySet.contains("pool-name") || explicitlySet.contains("endpoint-selector")) {
            try {
                Wiring.poolOptions(this);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
    }

    private void validateLimits() throws UsageException {
        for (String name : List.of("max-concurrent-streams", "max-request-header-count", "max-endpoint-in-flight")) {
            if (i(name) < 0) {
                throw new UsageException("--" + name + " must be >= 0");
            }
        }
        if (maxConnectionAge().isNegative() || maxConnectionAgeGrace().isNegative()) {
            throw new UsageException("--max-connection-age and --max-connection-age-grace must be >= 0");
        }
        if (!clientCa().isEmpty() && !secureServing()) {
            throw new UsageException("--client-ca needs TLS: drop --secure-serving=false");
        }
        if (!clientSanAllow().isEmpty() && clientCa().isEmpty()) {
            throw new UsageException("--client-san-allow needs --client-ca (identities come from verified "
                    + "client certificates)");
        }
    }

    /** --mode bbr needs no pool: endpoint flags are refused rather than silently ignored. */
    private void validateBbr() throws UsageException {
        for (String eppOnly : List.of("endpoints", "endpoints-file", "pool-name", "endpoint-selector")) {
            if (explicitlySet.contains(eppOnly)) {
                throw new UsageException("--" + eppOnly + " is not used in --mode bbr (it routes on the body only)");
            }
        }
        if (!baseModelMap().isEmpty() && !baseModelCel().isEmpty()) {
            throw new UsageException("--base-model-map and --base-model-cel are mutually exclusive");
        }
        if (!configFile().isEmpty() && !configText().isEmpty()) {
            throw new UsageException("--config-file and --config-text are mutually exclusive");
        }
        if (maxRequestBodyBytes() <= 0) {
            throw new UsageException("--max-request-body-bytes must be positive");
        }
        validateLimits();
    }

    // ---- value parsing helpers

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

    /** Parses a Go duration such as {@code 50ms}, {@code 5s}, {@code 1m30s}; a bare 0 is zero. */
    public static Duration parseDuration(String text) {
        if (text.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = DURATION_PART.matcher(text);
        long nanos = 0;
        int at = 0;
        while (at < text.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("not a duration (e.g. 50ms, 5s, 1m)");
            }
            double amount = Double.parseDouble(m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos += Math.round(amount * unit);
            at = m.end();
        }
        if (text.isEmpty()) {
            throw new IllegalArgumentException("empty duration");
        }
        return Duration.ofNanos(nanos);
    }

    /** Parses a byte size: a plain number, or with Ki/Mi/Gi (also K/M/G, KB/MB/GB as binary multiples). */
    public static long parseSize(String text) {
        Matcher m = Pattern.compile("(\\d+)\\s*([KMG]i?B?)?", Pattern.CASE_INSENSITIVE).matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size (e.g. 16777216, 16Mi)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
        if (unit.startsWith("K")) {
            return n * 1024;
        }
        if (unit.startsWith("M")) {
            return n * 1024 * 1024;
        }
        if (unit.startsWith("G")) {
            return n * 1024 * 1024 * 1024;
        }
        return n;
    }

    /** A size ({@link #parseSize}) or a percentage (1-100) of {@code heapBytes}. */
    static long sizeOrShareOfHeap(String text, long heapBytes) {
        String t = text.trim();
        if (t.endsWith("%")) {
            double percent = Double.parseDouble(t.substring(0, t.length() - 1).trim());
            if (!(percent > 0 && percent <= 100)) {
                throw new IllegalArgumentException("a percentage of the heap must be in (0, 100]");
            }
            return Math.max(1, (long) (heapBytes * percent / 100));
        }
        return parseSize(t);
    }

    private static List<Integer> parseIntList(String text) {
        List<Integer> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                int port = Integer.parseInt(p);
                if (port <= 0 || port > 65535) {
                    throw new IllegalArgumentException("port out of range: " + port);
                }
                if (!out.contains(port)) {
                    out.add(port);
                }
            }
        }
        return List.copyOf(out);
    }

    // ---- accessors

    private String s(String name) {
        return values.get(name);
    }

    private int i(String name) {
        return Integer.parseInt(values.get(name));
    }

    private boolean b(String name) {
        String v = values.get(name);
        return v.equalsIgnoreCase("true") || v.equals("1");
    }

    private Duration d(String name) {
        return parseDuration(values.get(name));
    }

    /** Whether the flag was given on the command line (not defaulted). */
    public boolean isSet(String flagName) {
        return explicitlySet.contains(flagName);
    }

    /** Every flag and its effective value, in declaration order (for the start-up log line). */
    public Map<String, String> asMap() {
        Map<String, String> out = new LinkedHashMap<>(values);
        out.put("pool-namespace", poolNamespace());
        out.put("grpc-port", Integer.toString(grpcPort()));
        out.put("grpc-health-port", Integer.toString(grpcHealthPort()));
        return Collections.unmodifiableMap(out);
    }

    /** The deprecated metric-name flags given on the command line (GAIE refuses them; epp4j warns). */
    public List<String> deprecatedMetricNameFlagsSet() {
        return DEPRECATED_METRIC_NAME_FLAGS.stream().filter(explicitlySet::contains).toList();
    }

    /** --grpc-port; unset in --mode bbr: GAIE's BBR port 9004. */
    public int grpcPort() {
        return bbrMode() && !isSet("grpc-port") ? 9004 : i("grpc-port");
    }

    /** --grpc-health-port; unset in --mode bbr: GAIE's BBR port 9005. */
    public int grpcHealthPort() {
        return bbrMode() && !isSet("grpc-health-port") ? 9005 : i("grpc-health-port");
    }

    /** --mode: epp or bbr. */
    public String mode() {
        return s("mode");
    }

    /** Whether this process is the body-based router ({@code --mode bbr}) instead of an EPP. */
    public boolean bbrMode() {
        return mode().equals("bbr");
    }

    /** --base-model-map, or "" (bbr mode). */
    public String baseModelMap() {
        return s("base-model-map");
    }

    /** --base-model-cel, or "" (bbr mode). */
    public String baseModelCel() {
        return s("base-model-cel");
    }

    public int metricsPort() {
        return i("metrics-port");
    }

    public String poolName() {
        return s("pool-name");
    }

    /** --pool-namespace, else env NAMESPACE, else "default" (GAIE's order). */
    public String poolNamespace() {
        String flag = s("pool-namespace");
        if (!flag.isEmpty()) {
            return flag;
        }
        String env = environment.get("NAMESPACE");
        return env == null || env.isEmpty() ? "default" : env;
    }

    public String poolGroup() {
        return s("pool-group");
    }

    public String endpointSelector() {
        return s("endpoint-selector");
    }

    public List<Integer> endpointTargetPorts() {
        return parseIntList(s("endpoint-target-ports"));
    }

    public boolean disableEndpointSubsetFilter() {
        return b("disable-endpoint-subset-filter");
    }

    public boolean haEnableLeaderElection() {
        return b("ha-enable-leader-election");
    }

    /** --ha-mode: active-passive (GAIE) or active-active. */
    public String haMode() {
        return s("ha-mode");
    }

    public Duration haLeaseDuration() {
        return d("ha-lease-duration");
    }

    public Duration haRenewDeadline() {
        return d("ha-renew-deadline");
    }

    public Duration haRetryPeriod() {
        return d("ha-retry-period");
    }

    public String configFile() {
        return s("config-file");
    }

    public String configText() {
        return s("config-text");
    }

    public String pluginsDir() {
        return s("plugins-dir");
    }

    public Duration refreshMetricsInterval() {
        return d("refresh-metrics-interval");
    }

    public Duration refreshPrometheusMetricsInterval() {
        return d("refresh-prometheus-metrics-interval");
    }

    public Duration metricsStalenessThreshold() {
        return d("metrics-staleness-threshold");
    }

    public boolean secureServing() {
        return b("secure-serving");
    }

    public String certPath() {
        return s("cert-path");
    }

    public boolean enableCertReload() {
        return b("enable-cert-reload");
    }

    public boolean healthChecking() {
        return b("health-checking");
    }

    public boolean metricsEndpointAuth() {
        return b("metrics-endpoint-auth");
    }

    public boolean enablePprof() {
        return b("enable-pprof");
    }

    public boolean tracing() {
        return b("tracing");
    }

    public int verbosity() {
        return i("v");
    }

    public String zapEncoder() {
        return s("zap-encoder");
    }

    public String zapLogLevel() {
        return s("zap-log-level");
    }

    public boolean zapDevel() {
        return b("zap-devel");
    }

    public String modelServerMetricsScheme() {
        return s("model-server-metrics-scheme");
    }

    public String modelServerMetricsPath() {
        return s("model-server-metrics-path");
    }

    public int modelServerMetricsPort() {
        return i("model-server-metrics-port");
    }

    public boolean modelServerMetricsHttpsInsecureSkipVerify() {
        return b("model-server-metrics-https-insecure-skip-verify");
    }

    /** Static endpoints from --endpoints (empty when not given). */
    public List<HostPort> staticEndpoints() {
        return HostPort.parseList(s("endpoints"));
    }

    /** Whether endpoints come from --endpoints or --endpoints-file (no Kubernetes). */
    public boolean staticMode() {
        return isSet("endpoints") || isSet("endpoints-file");
    }

    /** --endpoints-file, or null. */
    public Path endpointsFile() {
        String f = s("endpoints-file");
        return f.isEmpty() ? null : Path.of(f);
    }

    /** --inference-objectives-file, or null. */
    public Path inferenceObjectivesFile() {
        String f = s("inference-objectives-file");
        return f.isEmpty() ? null : Path.of(f);
    }

    public long maxRequestBodyBytes() {
        return parseSize(s("max-request-body-bytes"));
    }

    /** --max-buffered-body-bytes in bytes (a percentage is of {@link Runtime#maxMemory()}); 0: no limit. */
    public long maxBufferedBodyBytes() {
        return sizeOrShareOfHeap(s("max-buffered-body-bytes"), Runtime.getRuntime().maxMemory());
    }

    /** --max-concurrent-streams; 0: no limit. */
    public int maxConcurrentStreams() {
        return i("max-concurrent-streams");
    }

    /** --max-request-header-count; 0: no limit. */
    public int maxRequestHeaderCount() {
        return i("max-request-header-count");
    }

    /** --max-request-header-bytes; 0: no limit. */
    public long maxRequestHeaderBytes() {
        return parseSize(s("max-request-header-bytes"));
    }

    /** --max-endpoint-in-flight; 0: no limit. */
    public int maxEndpointInFlight() {
        return i("max-endpoint-in-flight");
    }

    /** --max-connection-age; zero: connections are never closed for their age. */
    public Duration maxConnectionAge() {
        return d("max-connection-age");
    }

    public Duration maxConnectionAgeGrace() {
        return d("max-connection-age-grace");
    }

    /** --client-ca: a PEM file or directory of CA certificates, or "" (no client certificates asked for). */
    public String clientCa() {
        return s("client-ca");
    }

    /** --client-san-allow as a list (empty: any client the CA signed). */
    public List<String> clientSanAllow() {
        List<String> out = new ArrayList<>();
        for (String part : s("client-san-allow").split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return List.copyOf(out);
    }

    public boolean enableModelsEndpoint() {
        return b("enable-models-endpoint");
    }

    public boolean lbMetadataScores() {
        return b("lb-metadata-scores");
    }

    public boolean destinationEndpointFallbacks() {
        return b("destination-endpoint-fallbacks");
    }

    public Duration gracePeriod() {
        return d("grace-period");
    }

    /** --decision-threads: 0 runs decisions on gRPC's transport threads. */
    public int decisionThreads() {
        return i("decision-threads");
    }

    /** One line per flag for --help. */
    public static String usage() {
        StringBuilder sb = new StringBuilder("Usage: java -jar epp.jar [flags]\n");
        for (Flag f : FLAGS.values()) {
            sb.append(String.format(Locale.ROOT, "  --%-48s %s%s%n", f.name() + (f.kind() == Kind.BOOL ? "" : " value"),
                    f.help(), f.defaultValue().isEmpty() ? "" : " (default " + f.defaultValue() + ")"));
        }
        return sb.toString();
    }
}
