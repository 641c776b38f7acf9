package io.epp4j.epp;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.debug.Dashboard;
import io.epp4j.epp.debug.DebugPages;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.ObjectiveResolver;
import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.epp.extproc.ExtProcService;
import io.epp4j.epp.health.EppHealthService;
import io.epp4j.epp.health.ExtProcPortHealthService;
import io.epp4j.epp.k8s.KubernetesPoolSource;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.telemetry.MetricsHttpServer;
import io.epp4j.epp.tls.ClientCertificates;
import io.epp4j.epp.tls.ServerCertificates;
import io.epp4j.epp.tracing.Tracing;
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
    /** How often --cert-path (with --enable-cert-reload) and --client-ca are checked for changes. */
    private static final Duration CERT_POLL = Duration.ofMillis(500);

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
        Factory<? extends RequestScheduler> scheduler;
        Factory<? extends ObjectiveResolver> objectiveResolver = c -> ObjectiveResolver.NONE;
        Factory<? extends ModelRewriter> modelRewriter = c -> ModelRewriter.NONE;
        Factory<? extends AutoCloseable> endpointSource;
        Factory<? extends MetricsHttpServer.Access> metricsAccess;
        final List<Factory<? extends AutoCloseable>> lifecycle = new ArrayList<>();
        BooleanSupplier leader = () -> true;
        PrometheusRegistry registry;
        Clock clock = Clock.systemUTC();
        long randomSeed = System.nanoTime();
        boolean modelServerMetrics = true;
        Map<String, Object> metricsDataSourceParams = Map.of();
        Map<String, Object> metricsExtractorParams = Map.of();
        Tracing tracing;

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

        /**
         * Who may read the metrics port ({@code /metrics}, {@code /debug/*}, the dashboard); default: everyone. The
         * Kubernetes wiring checks bearer tokens with --metrics-endpoint-auth. Closed on shutdown when closeable.
         */
        public Components metricsAccess(Factory<? extends MetricsHttpServer.Access> factory) {
            this.metricsAccess = Objects.requireNonNull(factory);
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

        /** Traces requests through {@code tracing} (default: the SDK from the OTEL_* variables when --tracing). */
        public Components tracing(Tracing tracing) {
            this.tracing = Objects.requireNonNull(tracing);
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
        if (Wiring.wantsKubernetes(options)) {
            // a client found the standard way: in-cluster service account, else KUBECONFIG, else ~/.kube/config
            Wiring.kubernetes(components, KubernetesPoolSource::defaultClient, new Random());
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
        MetricsHttpServer.Access access = MetricsHttpServer.Access.OPEN;
        if (components.metricsAccess != null) {
            access = components.metricsAccess.create(context);
            if (access instanceof AutoCloseable c) {
                closeables.push(c);
            }
        }
        metricsServer = new MetricsHttpServer(options.metricsPort(), registry, access);
        closeables.push(metricsServer);
        EppMetrics metrics = new EppMetrics(registry, Version.VERSION);
        Wiring.Assembled assembled = Wiring.assemble(context, components, metrics, closeables);
        extProc = assembled.extProc();
        DebugPages debug = new DebugPages(store, assembled.director().requestLog(),
                assembled.scheduler() instanceof SchedulingEngine engine ? engine.decisions() : null, registry,
                components.clock, options.metricsStalenessThreshold());
        Dashboard.install(metricsServer, debug);

        health = new EppHealthService(store, options.haEnableLeaderElection(), components.leader);
        healthServer = Grpc.newServerBuilderForPort(options.grpcHealthPort(), InsecureServerCredentials.create())
                .addService(health).build().start();

        ServerBuilder<?> builder = Grpc.newServerBuilderForPort(options.grpcPort(),
                        credentials(options, closeables, registry))
                .addService(extProc)
                .addService(ProtoReflectionServiceV1.newInstance())
                .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, options.maxRequestBodyBytes() + (1 << 20)))
                // gateways hold long-lived HTTP/2 connections and some ping them; don't GOAWAY them for it
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                // a stream's messages run where they are read, saving a thread hand-off per message; its heavy
                // steps (a decision on a large body, a blocking plugin) leave for DecisionThreads
                .directExecutor();
        connectionAge(builder, options);
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
     * The ext_proc port's credentials: plaintext, or with --secure-serving TLS from --cert-path (self-signed when
     * unset), requiring a client certificate signed by --client-ca when set; the certificate sources go on
     * {@code closeables}, the client rejection counter in {@code registry}.
     */
    static ServerCredentials credentials(EppOptions options, Deque<AutoCloseable> closeables,
                                         PrometheusRegistry registry) throws IOException {
        if (!options.secureServing()) {
            return InsecureServerCredentials.create();
        }
        ServerCertificates certificates = options.certPath().isEmpty()
                ? ServerCertificates.selfSigned()
                : ServerCertificates.fromDirectory(Path.of(options.certPath()),
                        options.enableCertReload() ? CERT_POLL : null);
        closeables.push(certificates);
        TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder().keyManager(certificates.keyManager());
        if (!options.clientCa().isEmpty()) {
            ClientCertificates clients = ClientCertificates.load(Path.of(options.clientCa()),
                    options.clientSanAllow(), CERT_POLL, registry);
            closeables.push(clients);
            tls.trustManager(clients.trustManager()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
        }
        return tls.build();
    }

    /**
     * --max-connection-age: gateway connections get an HTTP/2 GOAWAY at that age (grpc-java adds ±10% jitter),
     * so the gateway opens new ones, spread over the replicas by its Service; streams still open run on for
     * --max-connection-age-grace.
     */
    static void connectionAge(ServerBuilder<?> builder, EppOptions options) {
        if (options.maxConnectionAge().isZero()) {
            return;
        }
        builder.maxConnectionAge(options.maxConnectionAge().toNanos(), TimeUnit.NANOSECONDS)
                .maxConnectionAgeGrace(options.maxConnectionAgeGrace().toNanos(), TimeUnit.NANOSECONDS);
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
        if (grpcServer != null && !Shutdown.drain(grpcServer, options.gracePeriod())) {
            LOG.warn("{} ext_proc streams still open after the {} ms grace period; cancelling them",
                    openStreams(), options.gracePeriod().toMillis());
        }
        closeNow();
        LOG.info("epp4j stopped");
    }

    private void closeNow() {
        Shutdown.closeNow(closeables, grpcServer, healthServer);
    }
}
