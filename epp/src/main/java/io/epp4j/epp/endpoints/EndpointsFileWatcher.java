package io.epp4j.epp.endpoints;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.datastore.EndpointStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the endpoint store equal to an {@code --endpoints-file}: one {@code ip:port} a line ({@code #} starts a
 * comment; commas also separate). The file is polled, not watched, because Kubernetes ConfigMap volumes swap a
 * symlink that file watchers miss. A file that fails to parse keeps the previous pool and is logged once.
 */
public final class EndpointsFileWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EndpointsFileWatcher.class);

    private final Path file;
    private final EndpointStore store;
    private final ScheduledExecutorService poller;
    private String lastContent;
    private String lastError;

    /** Reads the file once (it must exist and parse), then polls it every {@code pollInterval}. */
    public static EndpointsFileWatcher start(Path file, EndpointStore store, Duration pollInterval)
            throws IOException {
        EndpointsFileWatcher watcher = new EndpointsFileWatcher(file, store);
        String content = Files.readString(file, StandardCharsets.UTF_8);
        List<HostPort> endpoints;
        try {
            endpoints = parse(content);
        } catch (IllegalArgumentException e) {
            watcher.close();
            throw new IOException("cannot read --endpoints-file " + file + ": " + e.getMessage(), e);
        }
        watcher.apply(content, endpoints);
        long period = Math.max(1, pollInterval.toMillis());
        watcher.poller.scheduleWithFixedDelay(watcher::poll, period, period, TimeUnit.MILLISECONDS);
        return watcher;
    }

    private EndpointsFileWatcher(Path file, EndpointStore store) {
        this.file = file;
        this.store = store;
        this.poller = DaemonThreads.scheduler("epp-endpoints-file");
    }

    /** Parses the file format; throws with the offending line. */
    public static List<HostPort> parse(String content) {
        List<HostPort> out = new ArrayList<>();
        String[] lines = content.split("\r?\n");
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash);
            }
            try {
                out.addAll(HostPort.parseList(line));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (n + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    private void poll() {
        try {
            String content = Files.readString(file, StandardCharsets.UTF_8);
            if (content.equals(lastContent)) {
                return;
            }
            apply(content, parse(content));
        } catch (IOException | RuntimeException e) {
            String error = e.getMessage();
            if (!String.valueOf(error).equals(lastError)) {
                LOG.error("Cannot reload --endpoints-file {}, keeping the previous {} endpoints: {}",
                        file, store.size(), error);
                lastError = error;
            }
        }
    }

    private void apply(String content, List<HostPort> endpoints) {
        StaticEndpoints.publish(store, endpoints);
        if (lastContent != null) {
            LOG.info("Reloaded --endpoints-file {}: {} endpoints", file, store.size());
        }
        lastContent = content;
        lastError = null;
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
