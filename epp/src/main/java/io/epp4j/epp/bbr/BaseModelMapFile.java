package io.epp4j.epp.bbr;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.config.BbrConfig;
import io.epp4j.epp.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The base-model map from a {@code --base-model-map} file: flat YAML, one {@code model-or-adapter: base-model} a
 * line. The file is polled (which follows a ConfigMap volume's symlink swap); a changed file that parses replaces
 * the map at once, one that does not is logged and counted and the previous map keeps serving.
 */
public final class BaseModelMapFile implements BaseModelLookup, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BaseModelMapFile.class);

    private final Path file;
    private final BbrMetrics metrics;
    private final ScheduledExecutorService poller;
    private volatile Map<String, String> map;
    private String lastContent;

    private BaseModelMapFile(Path file, BbrMetrics metrics) {
        this.file = file;
        this.metrics = metrics;
        this.poller = DaemonThreads.scheduler("bbr-base-model-map");
    }

    /** Reads the file (it must exist and parse), then polls it every {@code pollInterval}. */
    public static BaseModelMapFile start(Path file, Duration pollInterval, BbrMetrics metrics) throws IOException {
        BaseModelMapFile m = new BaseModelMapFile(file, metrics);
        try {
            String content = Files.readString(file, StandardCharsets.UTF_8);
            m.map = BbrConfig.parseFlatMap(content);
            m.lastContent = content;
        } catch (ConfigException e) {
            m.close();
            throw new IOException("cannot read --base-model-map " + file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            m.close();
            throw e;
        }
        long period = Math.max(1, pollInterval.toMillis());
        m.poller.scheduleWithFixedDelay(m::poll, period, period, TimeUnit.MILLISECONDS);
        LOG.info("Base-model map {}: {} models", file, m.map.size());
        return m;
    }

    /** Checks the file once; returns true when a new map was applied. */
    synchronized boolean poll() {
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read --base-model-map {}: {} (keeping the current map)", file, e.toString());
            return false;
        }
        if (content.equals(lastContent)) {
            return false;
        }
        lastContent = content;
        try {
            map = BbrConfig.parseFlatMap(content);
        } catch (ConfigException e) {
            metrics.mapReloaded(false);
            LOG.error("Rejected the new --base-model-map {}: {} (the previous map keeps serving)", file,
                    e.getMessage());
            return false;
        }
        metrics.mapReloaded(true);
        LOG.info("Reloaded --base-model-map {}: {} models", file, map.size());
        return true;
    }

    /** The map serving now. */
    public Map<String, String> current() {
        return map;
    }

    @Override
    public String baseModel(BbrRequest request) {
        return map.get(request.model());
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
