package io.epp4j.epp.config;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reloads the config file when its content changes (polled, which also follows the symlink swaps of a Kubernetes
 * ConfigMap volume). A valid new config is handed to the consumer; an invalid one is logged and counted in
 * {@code epp4j_config_reload_total{result="failure"}} and the old config keeps serving.
 */
public final class ConfigWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

    private final Path file;
    private final ConfigLoader loader;
    private final Consumer<LoadedConfig> onValid;
    private final Counter reloads;
    private byte[] lastContent;
    private ScheduledExecutorService executor;

    /**
     * @param initialContent the bytes the serving config was loaded from (a change is anything else)
     */
    public ConfigWatcher(Path file, byte[] initialContent, ConfigLoader loader, Consumer<LoadedConfig> onValid,
                         PrometheusRegistry registry) {
        this.file = file;
        this.loader = loader;
        this.onValid = onValid;
        this.lastContent = initialContent == null ? null : initialContent.clone();
        this.reloads = Counter.builder().name("epp4j_config_reload_total")
                .help("Config file reloads by result (success: now serving; failure: rejected, old config kept)")
                .labelNames("result").register(registry);
    }

    /** Polls every {@code interval} on a daemon thread. */
    public synchronized ConfigWatcher start(Duration interval) {
        if (executor == null) {
            executor = DaemonThreads.scheduler("config-watcher");
            long ms = Math.max(10, interval.toMillis());
            executor.scheduleWithFixedDelay(this::checkQuietly, ms, ms, TimeUnit.MILLISECONDS);
        }
        return this;
    }

    private void checkQuietly() {
        try {
            checkNow();
        } catch (RuntimeException e) {
            LOG.warn("config reload check failed: {}", e.toString());
        }
    }

    /** Checks the file once; returns true when a new config was applied. */
    public synchronized boolean checkNow() {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (IOException e) {
            LOG.warn("cannot read config file {}: {} (keeping the current config)", file, e.toString());
            return false;
        }
        if (Arrays.equals(content, lastContent)) {
            return false;
        }
        lastContent = content;
        LoadedConfig next;
        try {
            next = loader.load(new String(content, java.nio.charset.StandardCharsets.UTF_8), file.toString());
        } catch (ConfigException e) {
            reloads.labelValues("failure").inc();
            LOG.error("rejected new config {}: {} (the previous config keeps serving)", file, e.getMessage());
            return false;
        }
        onValid.accept(next);
        reloads.labelValues("success").inc();
        LOG.info("reloaded config {}", file);
        return true;
    }

    @Override
    public synchronized void close() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }
}
