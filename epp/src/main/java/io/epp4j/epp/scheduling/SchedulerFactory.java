package io.epp4j.epp.scheduling;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.config.ConfigWatcher;
import io.epp4j.epp.config.LoadedConfig;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.plugins.PrometheusPluginMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * The entry point for wiring the scheduler into the EPP: loads {@code --config-file} / {@code --config-text} (or
 * the default), with plugins from the class path and {@code --plugins-dir}, and when a file is given watches it
 * and reloads it without a restart.
 */
public final class SchedulerFactory {

    /** How often the config file is checked for changes. */
    public static final Duration RELOAD_INTERVAL = Duration.ofSeconds(2);

    private SchedulerFactory() {
    }

    /**
     * @param configFile {@code --config-file}, or null
     * @param configText {@code --config-text}, or null
     * @param pluginsDir {@code --plugins-dir} with team plugin jars, or null
     * @param registry where the scheduler and plugin metrics are registered
     * @param clock wall clock given to plugins (metrics staleness, prefix index purge)
     * @return the engine; close it on shutdown (stops the watcher and closes plugins)
     * @throws ConfigException when the config is invalid (message names line and field)
     */
    public static SchedulingEngine fromOptions(String configFile, String configText, Path pluginsDir,
                                               PrometheusRegistry registry, Clock clock) throws ConfigException {
        return fromOptions(configFile, configText, pluginsDir, registry, clock, System.nanoTime(), RELOAD_INTERVAL);
    }

    public static SchedulingEngine fromOptions(String configFile, String configText, Path pluginsDir,
                                               PrometheusRegistry registry, Clock clock, long seed,
                                               Duration reloadInterval) throws ConfigException {
        PluginRegistry plugins;
        try {
            plugins = PluginRegistry.create(pluginsDir);
        } catch (IllegalStateException e) {
            throw new ConfigException(0, "--plugins-dir", e.getMessage());
        }
        PluginEnvironment env = new PluginEnvironment(clock, System::nanoTime, seed,
                new PrometheusPluginMetrics(registry));
        ConfigLoader loader = new ConfigLoader(plugins, env);
        boolean hasFile = configFile != null && !configFile.isBlank();
        byte[] initial = null;
        if (hasFile) {
            try {
                initial = Files.readAllBytes(Path.of(configFile));
            } catch (IOException e) {
                throw new ConfigException(0, "--config-file", "cannot read " + configFile + ": " + e.getMessage());
            }
        }
        LoadedConfig config = hasFile && (configText == null || configText.isBlank())
                ? loader.load(new String(initial, java.nio.charset.StandardCharsets.UTF_8), configFile)
                : loader.fromOptions(configFile, configText);
        SchedulingEngine engine = new SchedulingEngine(config, registry, clock, System::nanoTime, 256);
        if (hasFile) {
            ConfigWatcher watcher = new ConfigWatcher(Path.of(configFile), initial, loader, engine::swap, registry);
            if (reloadInterval != null && !reloadInterval.isZero()) {
                watcher.start(reloadInterval);
            }
            engine.attach(watcher);
        }
        return engine;
    }
}
