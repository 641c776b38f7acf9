package io.epp4j.epp;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.scrape.ModelServerMetrics;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.ObjectiveResolver;
import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.director.RandomScheduler;
import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.epp.endpoints.EndpointsFileWatcher;
import io.epp4j.epp.endpoints.StaticEndpoints;
import io.epp4j.epp.extproc.ExtProcConfig;
import io.epp4j.epp.plugins.RemoteScorer;
import io.epp4j.epp.scheduling.SchedulerFactory;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.extproc.ExtProcService;
import io.epp4j.epp.health.EppHealthService;
import io.epp4j.epp.health.ExtProcPortHealthService;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.telemetry.MetricsHttpServer;
import io.epp4j.epp.tls.ServerCertificates;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The running EPP: the ext_proc gRPC server, the gRPC health server, the /metrics server and whatever feeds the
 * endpoint store. {@link #close()} shuts down gracefully: health turns NOT_SERVING, no new streams are accepted,
 * open streams get {@code --grace-period} to finish, then the rest is cut.
 *
 * <p>Other components are plugged in through {@link Components}: the scheduler, the objective and model-rewrite
 * lookups, an endpoint source replacing the static list (the Kubernetes watcher), leadership, and extra
 * lifecycle parts (scrapers). Each is built from a {@link Context} once the store and registry exist.
 */
public final class EppServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EppServer.class);

    /** What a component factory can use: the parsed flags and the server's shared parts. */
    public record Context(EppOptions options, EndpointStore endpointStore, PrometheusRegistry registry,
                          Clock clock) {
    }

    /** Builds one component from the server's context. */
    @FunctionalInterface
    public interface Factory<T> {
        T create(Context context) throws IOException;
    }

    /**
     * The replaceable parts of the server. Unset parts take their defaults: the {@link SchedulingEngine} built from the
     * config flags, no objectives, no model rewrites, the static endpoint list (--endpoints / --endpoints-file), always leader.
     */
    public static final class Components {
        private Factory<? extends RequestScheduler> scheduler;
        private Factory<? extends ObjectiveResolver> objectiveResolver = c -> ObjectiveResolver.NONE;
        private Factory<? extends ModelRewriter> modelRewriter = c -> ModelRewriter.NONE;
        private Factory<? extends AutoCloseable> endpointSource;
        private final List<Factory<? extends AutoCloseable>> lifecycle = new ArrayList<>();
        private BooleanSupplier leader = () -> true;
        private PrometheusRegistry registry;
        private Clock clock = Clock.systemUTC();
        private long randomSeed = System.nanoTime();
        private boolean modelServerMetrics = true;
        private Map<String, Object> metricsDataSourceParams = Map.of();
        private Map<String, Object> metricsExtractorParams = Map.of();

        public static Components defaults() {
            return new Components();
        }

        /** The scheduler the director calls (default: the {@link SchedulingEngine} from --config-file/--config-text). */
        public Components scheduler(Factory<? extends RequestScheduler> factory) {
            this.scheduler = Objects.requireNonNull(factory);
            return this;
        }

        public Components objectiveResolver(Factory<? extends ObjectiveResolver> factory) {
            this.objectiveResolver = Objects.requireNonNull(factory);
            return this;
        }

        public Components modelRewriter(Factory<? extends ModelRewriter> factory) {
            this.modelRewriter = Objects.requireNonNull(factory);
            return this;
        }

        /**
         * What fills the endpoint store and sets it synced, instead of the static list (e.g. the Kubernetes pool
         * watcher). Closed on shutdown.
         */
        public Components endpointSource(Factory<? extends AutoCloseable> factory) {
            this.endpointSource = Objects.requireNonNull(factory);
            return this;
        }

        /** An extra part started after the store and closed (in reverse order) on shutdown, e.g. a scraper. */
        public Components addLifecycle(Factory<? extends AutoCloseable> factory) {
            this.lifecycle.add(Objects.requireNonNull(factory));
            return this;
        }

        /** Whether this replica leads (only consulted with --ha-enable-leader-election). */
        public Components leader(BooleanSupplier isLeader) {
            this.leader = Objects.requireNonNull(isLeader);
            return this;
        }

        /** The registry to publish metrics in (default: a fresh one per server). */
        public Components registry(PrometheusRegistry registry) {
            this.registry = Objects.requireNonNull(registry);
            return this;
        }

        public Components clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /**
         * The {@code metrics-data-source} and {@code core-metrics-extractor} plugin parameters from the config
         * file (default: none, i.e. GAIE's defaults and the deprecated --model-server-metrics-* flags).
         */
        public Components modelServerMetrics(Map<String, Object> dataSourceParams,
                                              Map<String, Object> extractorParams) {
            this.metricsDataSourceParams = Objects.requireNonNull(dataSourceParams);
            this.metricsExtractorParams = Objects.requireNonNull(extractorParams);
            return this;
        }

        /** Does not scrape model servers (endpoints keep unknown metrics); for tests of other parts. */
        public Components withoutModelServerMetrics() {
            this.modelServerMetrics = false;
            return this;
        }

        /** Seed of the random picks (header-only requests and the default scheduler). */
        public Components randomSeed(long seed) {
            this.randomSeed = seed;
            return this;
        }
    }

    private final EppOptions options;
    private final EndpointStore store;
    private final PrometheusRegistry registry;
    private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
    private Server grpcServer;
    private Server healthServer;
    private MetricsHttpServer metricsServer;
    private EppHealthService health;
    private ExtProcPortHealthService extProcPortHealth;
    private ExtProcService extProc;
    private boolean closed;

    private EppServer(EppOptions options, EndpointStore store, PrometheusRegistry registry) {
        this.options = options;
        this.store = store;
        this.registry = registry;
    }

    /**
     * Starts with the default components (random picks) and the endpoint source the flags ask for: the
     * Kubernetes pool watcher with --pool-name / --endpoint-selector, else the static list.
     */
    public static EppServer start(EppOptions options) throws IOException {
        Components components = Components.defaults();
        if (io.epp4j.epp.k8s.KubernetesWiring.wanted(options)) {
            io.epp4j.epp.k8s.KubernetesWiring.install(components);
        }
        return start(options, components);
    }

    /** Starts every server; on failure everything started so far is closed again. */
    public static EppServer start(EppOptions options, Components components) throws IOException {
        PrometheusRegistry registry = components.registry != null ? components.registry : new PrometheusRegistry();
        EppServer server = new EppServer(options, new EndpointStore(), registry);
        try {
            server.startAll(components);
            return server;
        } catch (IOException | RuntimeException e) {
            server.closeNow();
            throw e;
        }
    }

    private void startAll(Components components) throws IOException {
        Context context = new Context(options, store, registry, components.clock);
        metricsServer = new MetricsHttpServer(options.metricsPort(), registry);
        closeables.push(metricsServer);
        EppMetrics metrics = new EppMetrics(registry, Version.VERSION);

        if (components.endpointSource != null) {
            closeables.push(components.endpointSource.create(context));
        } else if (options.endpointsFile() != null) {
            closeables.push(EndpointsFileWatcher.start(options.endpointsFile(), store, Duration.ofSeconds(1)));
        } else if (options.isSet("endpoints")) {
            StaticEndpoints.publish(store, options.staticEndpoints());
        } else {
            LOG.warn("No endpoint source for --pool-name/--endpoint-selector is wired in this build; the pool stays "
                    + "empty and health reports NOT_SERVING");
        }
        RandomScheduler random = new RandomScheduler(new Random(components.randomSeed));
        RequestScheduler scheduler;
        if (components.scheduler != null) {
            scheduler = components.scheduler.create(context);
        } else {
            // GAIE's scheduler from --config-file / --config-text (default config when neither), reloaded on change
            SchedulingEngine engine;
            try {
                engine = SchedulerFactory.fromOptions(options.configFile(), options.configText(),
                        options.pluginsDir().isEmpty() ? null : Path.of(options.pluginsDir()), registry,
                        components.clock, components.randomSeed, SchedulerFactory.RELOAD_INTERVAL);
            } catch (ConfigException e) {
                throw new IllegalArgumentException("invalid EndpointPickerConfig: " + e.getMessage(), e);
            }
            closeables.push(engine);
            scheduler = engine;
        }
        if (components.modelServerMetrics) {
            // the config file's metrics-data-source / core-metrics-extractor parameters, unless a component set
            // them; they are read at start-up (a reload that changes them needs a restart)
            Map<String, Object> dataSource = components.metricsDataSourceParams;
            Map<String, Object> extractor = components.metricsExtractorParams;
            if (dataSource.isEmpty() && extractor.isEmpty() && scheduler instanceof SchedulingEngine engine) {
                dataSource = engine.config().dataSourceParameters();
                extractor = engine.config().extractorParameters();
            }
            closeables.push(ModelServerMetrics.start(options, store, registry, components.clock, dataSource,
                    extractor));
        }
        for (Factory<? extends AutoCloseable> f : components.lifecycle) {
            closeables.push(f.create(context));
        }

        Director director = new Director(store, scheduler, components.objectiveResolver.create(context),
                components.modelRewriter.create(context), options.disableEndpointSubsetFilter(), random);
        extProc = new ExtProcService(new ExtProcConfig(director, metrics, options.maxRequestBodyBytes(),
                options.destinationEndpointFallbacks(), System::nanoTime, () -> UUID.randomUUID().toString()));

        health = new EppHealthService(store, options.haEnableLeaderElection(), components.leader);
        healthServer = Grpc.newServerBuilderForPort(options.grpcHealthPort(), InsecureServerCredentials.create())
                .addService(health).build().start();

        ServerCredentials credentials = InsecureServerCredentials.create();
        if (options.secureServing()) {
            ServerCertificates certificates = options.certPath().isEmpty()
                    ? ServerCertificates.selfSigned()
                    : ServerCertificates.fromDirectory(Path.of(options.certPath()),
                            options.enableCertReload() ? Duration.ofMillis(500) : null);
            closeables.push(certificates);
            credentials = TlsServerCredentials.newBuilder().keyManager(certificates.keyManager()).build();
        }
        ServerBuilder<?> builder = Grpc.newServerBuilderForPort(options.grpcPort(), credentials)
                .addService(extProc)
                .addService(ProtoReflectionServiceV1.newInstance())
                .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, options.maxRequestBodyBytes() + (1 << 20)))
                // gateways hold long-lived HTTP/2 connections and some ping them; don't GOAWAY them for it
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        if (runsOnTransportThreads(scheduler)) {
            // nothing on the request path blocks: run streams on gRPC's transport threads, saving a thread
            // hand-off per message (about 2.5x the decisions/s of the default pool on 2 cores; bench/results)
            builder.directExecutor();
        } else {
            LOG.info("The scheduling config calls remote scorers, which wait for an answer: ext_proc streams run "
                    + "on a worker pool");
        }
        if (options.healthChecking()) {
            extProcPortHealth = new ExtProcPortHealthService();
            builder.addService(extProcPortHealth);
        }
        grpcServer = builder.build().start();
        LOG.info("epp4j {} serving ext_proc on :{} ({}), health on :{}, metrics on :{}; {} endpoints", Version.VERSION,
                grpcPort(), options.secureServing() ? "TLS" : "plaintext", healthPort(), metricsPort(),
                store.size());
    }

    /**
     * Whether ext_proc streams may run on the transport threads: only with the built-in scheduling engine and no
     * plugin that blocks on a remote call (the remote scorer). A reload that adds a remote scorer later keeps the
     * start-up choice (restart to move to the worker pool).
     */
    static boolean runsOnTransportThreads(RequestScheduler scheduler) {
        return scheduler instanceof SchedulingEngine engine
                && engine.config().plugins().values().stream().noneMatch(p -> p instanceof RemoteScorer);
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

    public EndpointStore endpointStore() {
        return store;
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public EppOptions options() {
        return options;
    }

    /** The ext_proc service itself, e.g. to serve it over an in-process transport in tests and benchmarks. */
    public ExtProcService extProcService() {
        return extProc;
    }

    /** Streams open right now (each is one HTTP request in the gateway). */
    public int openStreams() {
        return extProc == null ? 0 : extProc.openStreams();
    }

    /**
     * Graceful stop: health NOT_SERVING, stop accepting streams, wait up to --grace-period for open ones, then
     * cut the rest and stop the health and metrics servers and every component. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (health != null) {
            health.shutdown();
        }
        if (extProcPortHealth != null) {
            extProcPortHealth.shutdown();
        }
        if (grpcServer != null) {
            grpcServer.shutdown();
            try {
                long graceMillis = options.gracePeriod().toMillis();
                if (!grpcServer.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) {
                    LOG.warn("{} ext_proc streams still open after the {} ms grace period; cancelling them",
                            openStreams(), graceMillis);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeNow();
        LOG.info("epp4j stopped");
    }

    private void closeNow() {
        for (Server s : new Server[] {grpcServer, healthServer}) {
            if (s != null) {
                s.shutdownNow();
                try {
                    s.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        while (!closeables.isEmpty()) {
            AutoCloseable c = closeables.pop();
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("Error while closing {}", c, e);
            }
        }
    }
}
