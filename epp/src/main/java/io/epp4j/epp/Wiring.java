package io.epp4j.epp;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.director.Director;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.ObjectiveResolver;
import io.epp4j.epp.director.RequestLog;
import io.epp4j.epp.director.RequestScheduler;
import io.epp4j.epp.endpoints.EndpointsFileWatcher;
import io.epp4j.epp.endpoints.ObjectivesFileWatcher;
import io.epp4j.epp.endpoints.StaticEndpoints;
import io.epp4j.epp.extproc.DecisionThreads;
import io.epp4j.epp.flowcontrol.FlowControlMetrics;
import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.epp.extproc.ExtProcConfig;
import io.epp4j.epp.extproc.StreamLimits;
import io.epp4j.epp.extproc.ExtProcService;
import io.epp4j.epp.k8s.KubernetesPoolSource;
import io.epp4j.epp.k8s.MetricsAuth;
import io.epp4j.epp.k8s.PoolOptions;
import io.epp4j.epp.scheduling.SchedulerFactory;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.models.ModelsEndpoint;
import io.epp4j.epp.scrape.ModelServerMetrics;
import io.epp4j.epp.scrape.ScrapeOptions;
import io.epp4j.epp.telemetry.EppMetrics;
import io.epp4j.epp.telemetry.MetricsHttpServer;
import io.epp4j.epp.tracing.Tracing;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.Plugin;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Deque;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Assembles an EPP from its flags and components: the endpoint source (static list, endpoints file or Kubernetes
 * pool watcher), the scheduler, model-server scraping, the director and the ext_proc service. The one place the
 * parts meet: each package takes its own options ({@link PoolOptions}, {@link ScrapeOptions}, ...) and knows
 * nothing of the flags or the server.
 */
final class Wiring {

    private static final Logger LOG = LoggerFactory.getLogger(Wiring.class);
    /** Requests kept for {@code /debug/decisions}. */
    static final int REQUEST_LOG_CAPACITY = 256;
    /** How often the pool's model lists are refreshed for {@code --enable-models-endpoint}. */
    static final Duration MODELS_REFRESH_INTERVAL = Duration.ofSeconds(5);

    private Wiring() {
    }

    /** Whether the flags ask for Kubernetes mode ({@code --pool-name} or {@code --endpoint-selector}). */
    static boolean wantsKubernetes(EppOptions options) {
        return options.isSet("pool-name") || options.isSet("endpoint-selector");
    }

    /**
     * The pool watcher's options from the flags.
     *
     * @throws IllegalArgumentException with a message for the user when a flag value is unusable
     */
    static PoolOptions poolOptions(EppOptions options) {
        PoolOptions base;
        if (options.isSet("endpoint-selector")) {
            StringBuilder ports = new StringBuilder();
            for (Integer p : options.endpointTargetPorts()) {
                ports.append(ports.length() == 0 ? "" : ",").append(p);
            }
            base = PoolOptions.standalone(PoolOptions.parseSelector(options.endpointSelector()),
                    PoolOptions.parsePorts(ports.toString()), options.poolNamespace(), System.getenv("POD_NAME"));
        } else {
            base = PoolOptions.forPool(options.poolName(), options.poolNamespace(), options.poolGroup());
        }
        return base.withLeaderElection(options.haEnableLeaderElection(), PoolOptions.HaMode.parse(options.haMode()))
                .withLeaseTimings(options.haLeaseDuration(), options.haRenewDeadline(), options.haRetryPeriod());
    }

    /** Scraping's options from the flags; the deprecated flags only when given. */
    static ScrapeOptions scrapeOptions(EppOptions options) {
        return new ScrapeOptions(options.refreshMetricsInterval(), options.refreshPrometheusMetricsInterval(),
                options.metricsStalenessThreshold(), options.poolName(),
                options.isSet("model-server-metrics-scheme") ? options.modelServerMetricsScheme() : null,
                options.isSet("model-server-metrics-path") ? options.modelServerMetricsPath() : null,
                options.isSet("model-server-metrics-https-insecure-skip-verify")
                        ? options.modelServerMetricsHttpsInsecureSkipVerify() : null,
                options.isSet("model-server-metrics-port"));
    }

    /**
     * Installs the Kubernetes source into {@code components}: it becomes the endpoint source and supplies
     * objectives, model rewrites and leadership. The client is closed with the server.
     */
    static EppServer.Components kubernetes(EppServer.Components components, Supplier<KubernetesClient> clients,
                                           Random rewriteRandom) {
        AtomicReference<KubernetesPoolSource> started = new AtomicReference<>();
        return components
                .endpointSource(context -> {
                    KubernetesClient client = clients.get();
                    KubernetesPoolSource source;
                    try {
                        source = KubernetesPoolSource.start(client, poolOptions(context.options()),
                                context.endpointStore(), context.registry(), context.clock(), rewriteRandom);
                    } catch (RuntimeException e) {
                        client.close();
                        throw e;
                    }
                    started.set(source);
                    return () -> {
                        source.close();
                        client.close();
                    };
                })
                // Built after the endpoint source (the order below), so the source is known here.
                .objectiveResolver(context -> started.get() == null ? ObjectiveResolver.NONE
                        : started.get().objectives())
                .modelRewriter(context -> started.get() == null ? ModelRewriter.NONE : started.get().rewriter())
                .leader(() -> {
                    KubernetesPoolSource s = started.get();
                    return s != null && s.isLeader();
                })
                .metricsAccess(context -> context.options().metricsEndpointAuth()
                        ? MetricsAuth.withoutRetries(clients.get(), context.clock()) : MetricsHttpServer.Access.OPEN);
    }

    /**
     * Starts every part behind the ext_proc service, in order: endpoint source, scheduler, scraping, extra
     * lifecycle parts, director; each closeable part is pushed on {@code closeables} as it starts.
     */
    static Assembled assemble(EppServer.Context context, EppServer.Components components, EppMetrics metrics,
                              Deque<AutoCloseable> closeables) throws IOException {
        EppOptions options = context.options();
        EndpointStore store = context.endpointStore();
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
        RequestScheduler scheduler = scheduler(context, components, closeables);
        if (scheduler instanceof SchedulingEngine engine) {
            notifyEndpoints(store, engine);
        }
        boolean configScrapes = !(scheduler instanceof SchedulingEngine e) || e.config().scrapesMetrics();
        if (components.modelServerMetrics && configScrapes) {
            // the config file's metrics-data-source / core-metrics-extractor parameters, unless a component set
            // them; they are read at start-up (a reload that changes them needs a restart)
            Map<String, Object> dataSource = components.metricsDataSourceParams;
            Map<String, Object> extractor = components.metricsExtractorParams;
            if (dataSource.isEmpty() && extractor.isEmpty() && scheduler instanceof SchedulingEngine engine) {
                dataSource = engine.config().dataSourceParameters();
                extractor = engine.config().extractorParameters();
            }
            closeables.push(ModelServerMetrics.start(scrapeOptions(options), store, context.registry(),
                    context.clock(), dataSource, extractor));
        }
        for (EppServer.Factory<? extends AutoCloseable> f : components.lifecycle) {
            closeables.push(f.create(context));
        }
        // idle (no thread, nothing queued) until the serving config turns the flowControl feature gate on
        FlowController flow = new FlowController(scheduler::flowControl, store::snapshot,
                new FlowControlMetrics(context.registry(), options.poolName()), System::nanoTime);
        closeables.push(flow);
        ObjectiveResolver objectives;
        if (options.inferenceObjectivesFile() != null) {
            ObjectivesFileWatcher watcher = ObjectivesFileWatcher.start(options.inferenceObjectivesFile(),
                    Duration.ofSeconds(1));
            closeables.push(watcher);
            objectives = watcher;
        } else {
            objectives = components.objectiveResolver.create(context);
        }
        Director director = Director.builder(store, scheduler)
                .flowController(flow)
                .objectives(objectives)
                .modelRewriter(components.modelRewriter.create(context))
                .ignoreSubsetHint(options.disableEndpointSubsetFilter())
                .random(new Random(components.randomSeed))
                .metrics(metrics)
                .clock(context.clock())
                .requestLog(new RequestLog(REQUEST_LOG_CAPACITY))
                .maxEndpointInFlight(options.maxEndpointInFlight())
                .build();
        DecisionThreads threads = DecisionThreads.create(options.decisionThreads());
        closeables.push(threads);
        LOG.info("Decisions on bodies of {} bytes or more run on {}", DecisionThreads.HAND_OFF_BYTES,
                options.decisionThreads() == 0 ? "gRPC's transport threads"
                        : options.decisionThreads() + " decision threads (more for configurations that block on I/O)");
        ModelsEndpoint models = null;
        if (options.enableModelsEndpoint()) {
            models = ModelsEndpoint.start(store, MODELS_REFRESH_INTERVAL);
            closeables.push(models);
            LOG.info("GET /v1/models is answered by the EPP: the pool's models, refreshed every {}s",
                    MODELS_REFRESH_INTERVAL.toSeconds());
        }
        ExtProcService extProc = new ExtProcService(new ExtProcConfig(director, metrics,
                options.maxRequestBodyBytes(), options.destinationEndpointFallbacks(), System::nanoTime,
                () -> UUID.randomUUID().toString(), threads, options.lbMetadataScores(),
                tracing(options, components, closeables), limits(options, metrics), models));
        return new Assembled(extProc, director, scheduler);
    }

    /** The limits of --max-concurrent-streams, --max-buffered-body-bytes and the header flags, logged once. */
    private static StreamLimits limits(EppOptions options, EppMetrics metrics) {
        StreamLimits limits = new StreamLimits(options.maxConcurrentStreams(), options.maxBufferedBodyBytes(),
                options.maxRequestHeaderCount(), options.maxRequestHeaderBytes(), metrics);
        LOG.info("Limits: {} streams, {} buffered body bytes (requests, held responses, answers not yet taken), "
                        + "{} headers of {} bytes a request, {} in flight an endpoint (0: none)", options.maxConcurrentStreams(),
                options.maxBufferedBodyBytes(), options.maxRequestHeaderCount(), options.maxRequestHeaderBytes(),
                options.maxEndpointInFlight());
        return limits;
    }

    /** The component's tracing, else the SDK from the OTEL_* variables with --tracing, else none. */
    private static Tracing tracing(EppOptions options, EppServer.Components components,
                                   Deque<AutoCloseable> closeables) {
        if (components.tracing != null) {
            return components.tracing;
        }
        if (!options.tracing()) {
            return Tracing.OFF;
        }
        Tracing tracing = Tracing.fromEnvironment(System.getenv());
        closeables.push(tracing);
        LOG.info("Tracing requests with OpenTelemetry: exporter {}, endpoint {}, sampler {} {}",
                env("OTEL_TRACES_EXPORTER", "otlp"), env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
                env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), env("OTEL_TRACES_SAMPLER_ARG", "0.1"));
        return tracing;
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    /** What {@link #assemble} built: the service, and what the debug pages read. */
    record Assembled(ExtProcService extProc, Director director, RequestScheduler scheduler) {
    }

    /**
     * Tells the plugins of the engine's current configuration that follow the pool (llm-d's
     * {@code endpoint-notification-source} extractors, such as {@code precise-prefix-cache-producer}) about every
     * endpoint now and as endpoints come and go.
     */
    private static void notifyEndpoints(EndpointStore store, SchedulingEngine engine) {
        EndpointStore.Listener forward = new EndpointStore.Listener() {
            @Override
            public void onAdded(EndpointInfo endpoint) {
                for (Plugin p : engine.config().plugins().values()) {
                    if (p instanceof EndpointStore.Listener l) {
                        l.onAdded(endpoint);
                    }
                }
            }

            @Override
            public void onRemoved(EndpointInfo endpoint) {
                for (Plugin p : engine.config().plugins().values()) {
                    if (p instanceof EndpointStore.Listener l) {
                        l.onRemoved(endpoint);
                    }
                }
            }
        };
        store.addListener(forward);
        for (Endpoint e : store.snapshot()) {
            forward.onAdded(e.info());
        }
    }

    /** The component's scheduler, else GAIE's from --config-file / --config-text, reloaded when the file changes. */
    private static RequestScheduler scheduler(EppServer.Context context, EppServer.Components components,
                                              Deque<AutoCloseable> closeables) throws IOException {
        if (components.scheduler != null) {
            return components.scheduler.create(context);
        }
        EppOptions options = context.options();
        SchedulingEngine engine;
        try {
            engine = SchedulerFactory.fromOptions(options.configFile(), options.configText(),
                    options.pluginsDir().isEmpty() ? null : Path.of(options.pluginsDir()), context.registry(),
                    context.clock(), components.randomSeed, SchedulerFactory.RELOAD_INTERVAL);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("invalid EndpointPickerConfig: " + e.getMessage(), e);
        }
        closeables.push(engine);
        return engine;
    }
}
