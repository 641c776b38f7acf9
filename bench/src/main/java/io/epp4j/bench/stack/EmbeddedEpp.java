package io.epp4j.bench.stack;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.scheduling.SchedulerFactory;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.scrape.MetricsScraper;
import io.epp4j.epp.scrape.ScrapeConfig;

import java.io.IOException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One in-process epp4j EPP ({@code io.epp4j.epp.EppServer}) in static-endpoints mode on ephemeral ports, with
 * the scheduling engine built from an EndpointPickerConfig file (GAIE's default profile without one) and the
 * vLLM metrics scraper.
 */
public final class EmbeddedEpp implements AutoCloseable {

    private final EppServer server;
    private final boolean tls;

    private EmbeddedEpp(EppServer server, boolean tls) {
        this.server = server;
        this.tls = tls;
    }

    /**
     * Starts an EPP for {@code endpoints} ({@code ip:port}).
     *
     * @param tls serve ext_proc over TLS with the EPP's self-signed certificate
     * @param configFile an EndpointPickerConfig file, or null for the EPP's default
     * @param extraArgs further EPP flags
     */
    public static EmbeddedEpp start(List<String> endpoints, boolean tls, String configFile, String... extraArgs)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("--grpc-port", "0", "--grpc-health-port", "0",
                "--metrics-port", "0", "--secure-serving=" + tls, "--endpoints", String.join(",", endpoints),
                "--refresh-metrics-interval", "50ms", "--grace-period", "1s", "--v", "1"));
        if (configFile != null) {
            args.add("--config-file");
            args.add(configFile);
        }
        args.addAll(List.of(extraArgs));
        EppOptions options = EppOptions.parse(args.toArray(String[]::new));
        // EppServer.start(options) alone still schedules at random and scrapes nothing in this build, so the
        // scheduling engine (config file) and the model-server scraper are wired in here explicitly.
        AtomicReference<SchedulingEngine> engine = new AtomicReference<>();
        EppServer.Components components = EppServer.Components.defaults()
                .addLifecycle(ctx -> new MetricsScraper(ctx.endpointStore(),
                        ScrapeConfig.defaults().withInterval(options.refreshMetricsInterval()), ctx.registry(),
                        ctx.clock()).start())
                .addLifecycle(ctx -> {
                    try {
                        engine.set(SchedulerFactory.fromOptions(configFile, null, null, ctx.registry(), ctx.clock()));
                    } catch (ConfigException e) {
                        throw new IOException("invalid EPP config " + configFile + ": " + e.getMessage(), e);
                    }
                    return engine.get();
                })
                .scheduler(ctx -> engine.get());
        return new EmbeddedEpp(EppServer.start(options, components), tls);
    }

    public EppServer server() {
        return server;
    }

    public int grpcPort() {
        return server.grpcPort();
    }

    public int metricsPort() {
        return server.metricsPort();
    }

    public boolean tls() {
        return tls;
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
