package io.epp4j.epp;

import io.epp4j.epp.bbr.BaseModelLookup;
import io.epp4j.epp.bbr.BaseModelMapFile;
import io.epp4j.epp.bbr.BbrMetrics;
import io.epp4j.epp.bbr.BbrPlugins;
import io.epp4j.epp.bbr.BodyRouting;
import io.epp4j.epp.bbr.CelBaseModel;
import io.epp4j.epp.config.BbrConfig;
import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.extproc.BodyRoutingService;
import io.epp4j.epp.health.ExtProcPortHealthService;
import io.epp4j.epp.telemetry.MetricsHttpServer;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The running body-based router ({@code --mode bbr}): the ext_proc server that sets {@code X-Gateway-Model-Name}
 * and {@code X-Gateway-Base-Model-Name} from the body before the gateway matches routes, the gRPC health server
 * and /metrics. No pool, no endpoints. {@link #close()} stops like the EPP: health NOT_SERVING, no new streams,
 * {@code --grace-period} for open ones, then the rest is cut.
 */
public final class BbrServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BbrServer.class);
    private static final Duration MAP_POLL_INTERVAL = Duration.ofSeconds(1);

    private final EppOptions options;
    private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
    private final ExtProcPortHealthService health = new ExtProcPortHealthService();
    private Server grpcServer;
    private Server healthServer;
    private MetricsHttpServer metricsServer;
    private BodyRoutingService service;
    private boolean closed;

    private BbrServer(EppOptions options) {
        this.options = options;
    }

    /** Starts with a fresh metrics registry, polling a --base-model-map file every second. */
    public static BbrServer start(EppOptions options) throws IOException {
        return start(options, new PrometheusRegistry(), MAP_POLL_INTERVAL);
    }

    /**
     * Starts every server; on failure (a bad config, map file or CEL expression) everything started so far is
     * closed again and the exception says what is wrong.
     */
    public static BbrServer start(EppOptions options, PrometheusRegistry registry, Duration mapPollInterval)
            throws IOException {
        BbrServer server = new BbrServer(options);
        try {
            server.startAll(registry, mapPollInterval);
            return server;
        } catch (IOException | RuntimeException e) {
            server.closeNow();
            throw e;
        }
    }

    /** EPP flags the body-based router accepts (a shared command line stays valid) and does not use. */
    private static final List<String> EPP_ONLY_FLAGS = List.of("pool-group", "pool-namespace",
            "endpoint-target-ports", "disable-endpoint-subset-filter", "ha-enable-leader-election", "ha-mode",
            "ha-lease-duration", "ha-renew-deadline", "ha-retry-period", "plugins-dir", "refresh-metrics-interval",
            "refresh-prometheus-metrics-interval", "metrics-staleness-threshold", "model-server-metrics-scheme",
            "model-server-metrics-path", "model-server-metrics-port",
            "model-server-metrics-https-insecure-skip-verify", "destination-endpoint-fallbacks", "decision-threads",
            "max-buffered-body-bytes", "max-concurrent-streams", "max-request-header-count", "max-request-header-bytes",
            "max-endpoint-in-flight");

    private void startAll(PrometheusRegistry registry, Duration mapPollInterval) throws IOException {
        List<String> unused = EPP_ONLY_FLAGS.stream().filter(options::isSet).map(f -> "--" + f).toList();
        if (!unused.isEmpty()) {
            LOG.warn("{} have no effect in --mode bbr", unused);
        }
        BbrMetrics metrics = new BbrMetrics(registry);
        BaseModelLookup lookup = lookup(metrics, mapPollInterval);
        BodyRouting routing;
        try {
            routing = new BodyRouting(BbrPlugins.build(config(), lookup), metrics);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("invalid body-based-routing config: " + e.getMessage(), e);
        }
        service = new BodyRoutingService(routing, options.maxRequestBodyBytes());
        metricsServer = new MetricsHttpServer(options.metricsPort(), registry);
        closeables.push(metricsServer);
        healthServer = Grpc.newServerBuilderForPort(options.grpcHealthPort(), InsecureServerCredentials.create())
                .addService(health).build().start();
        ServerBuilder<?> builder = Grpc.newServerBuilderForPort(options.grpcPort(),
                        EppServer.credentials(options, closeables, registry))
                .addService(service)
                .addService(ProtoReflectionServiceV1.newInstance())
                .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, options.maxRequestBodyBytes() + (1 << 20)))
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        EppServer.connectionAge(builder, options);
        if (options.healthChecking()) {
            builder.addService(health);
        }
        grpcServer = builder.build().start();
        LOG.info("epp4j {} body-based router serving ext_proc on :{} ({}), health on :{}, metrics on :{}; "
                        + "headers {}, base models from {}", Version.VERSION, grpcPort(),
                options.secureServing() ? "TLS" : "plaintext", healthPort(), metricsPort(), routing.headerNames(),
                lookup == BaseModelLookup.NONE ? "nowhere" : lookup);
    }

    private BaseModelLookup lookup(BbrMetrics metrics, Duration mapPollInterval) throws IOException {
        if (!options.baseModelCel().isEmpty()) {
            return CelBaseModel.compile(options.baseModelCel());
        }
        if (!options.baseModelMap().isEmpty()) {
            BaseModelMapFile file = BaseModelMapFile.start(Path.of(options.baseModelMap()), mapPollInterval, metrics);
            closeables.push(file);
            return file;
        }
        LOG.warn("Neither --base-model-map nor --base-model-cel is set: base-model-to-header sets no header "
                + "(GAIE's ConfigMap source of base models is not implemented)");
        return BaseModelLookup.NONE;
    }

    private BbrConfig config() throws IOException {
        String text = options.configText();
        if (!options.configFile().isEmpty()) {
            text = Files.readString(Path.of(options.configFile()), StandardCharsets.UTF_8);
        }
        try {
            return text.isEmpty() ? new BbrConfig(List.of()) : BbrConfig.parse(text);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("invalid body-based-routing config: " + e.getMessage(), e);
        }
    }

    public int grpcPort() {
        return grpcServer.getPort();
    }

    public int healthPort() {
        return healthServer.getPort();
    }

    public int metricsPort() {
        return metricsServer.port();
    }

    /** The ext_proc service itself, e.g. to serve it over an in-process transport in tests and benchmarks. */
    public BodyRoutingService extProcService() {
        return service;
    }

    /** Graceful stop, as {@link EppServer#close()}. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        health.shutdown();
        if (grpcServer != null && !Shutdown.drain(grpcServer, options.gracePeriod())) {
            LOG.warn("ext_proc streams still open after the {} grace period; cancelling them",
                    options.gracePeriod());
        }
        closeNow();
        LOG.info("epp4j body-based router stopped");
    }

    private void closeNow() {
        Shutdown.closeNow(closeables, grpcServer, healthServer);
    }
}
