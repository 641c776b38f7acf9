package io.epp4j.epp.endpoints;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.director.ObjectiveResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * InferenceObjectives without Kubernetes: an {@code --inference-objectives-file} holds InferenceObjective resources
 * in the CRD's own YAML ({@code inference.networking.x-k8s.io/v1alpha2}, several documents separated by
 * {@code ---}, as {@code kubectl get -o yaml} or a manifest has them), and each request's
 * {@code x-gateway-inference-objective} header is resolved to its {@code spec.priority} (unset: 0). The file is
 * polled like {@code --endpoints-file}; one that fails to parse keeps the previous objectives and is logged once.
 * {@code spec.poolRef} is not checked: in static mode there is one pool. Thread-safe.
 */
public final class ObjectivesFileWatcher implements ObjectiveResolver, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ObjectivesFileWatcher.class);
    static final String API_VERSION = "inference.networking.x-k8s.io/v1alpha2";
    static final String KIND = "InferenceObjective";

    private final Path file;
    private final ScheduledExecutorService poller;
    private volatile Map<String, Integer> priorities = Map.of();
    private String lastContent;
    private String lastError;

    private ObjectivesFileWatcher(Path file) {
        this.file = file;
        this.poller = DaemonThreads.scheduler("epp-objectives-file");
    }

    /** Reads the file once (it must exist and parse), then polls it every {@code pollInterval}. */
    public static ObjectivesFileWatcher start(Path file, Duration pollInterval) throws IOException {
        ObjectivesFileWatcher watcher = new ObjectivesFileWatcher(file);
        String content = Files.readString(file, StandardCharsets.UTF_8);
        try {
            watcher.apply(content, parse(content));
        } catch (IllegalArgumentException e) {
            watcher.close();
            throw new IOException("cannot read --inference-objectives-file " + file + ": " + e.getMessage(), e);
        }
        long period = Math.max(1, pollInterval.toMillis());
        watcher.poller.scheduleWithFixedDelay(watcher::poll, period, period, TimeUnit.MILLISECONDS);
        return watcher;
    }

    @Override
    public int priorityOf(String objectiveName) {
        return objectiveName == null ? 0 : priorities.getOrDefault(objectiveName, 0);
    }

    /**
     * The objectives' priorities by name; throws naming the offending document when one is not an
     * InferenceObjective, lacks {@code metadata.name}, repeats a name or has a non-integer {@code spec.priority}.
     */
    public static Map<String, Integer> parse(String content) {
        Map<String, Integer> out = new HashMap<>();
        int n = 0;
        Iterable<Object> documents;
        try {
            documents = new Load(LoadSettings.builder().setLabel("objectives").build()).loadAllFromString(content);
            for (Object doc : documents) {
                n++;
                if (doc == null) {
                    continue; // an empty document, e.g. after a trailing ---
                }
                if (!(doc instanceof Map<?, ?> m)) {
                    throw new IllegalArgumentException("document " + n + ": not a mapping");
                }
                if (!API_VERSION.equals(m.get("apiVersion")) || !KIND.equals(m.get("kind"))) {
                    throw new IllegalArgumentException("document " + n + ": want apiVersion " + API_VERSION
                            + " and kind " + KIND + ", got " + m.get("apiVersion") + " " + m.get("kind"));
                }
                Object name = m.get("metadata") instanceof Map<?, ?> meta ? meta.get("name") : null;
                if (!(name instanceof String s) || s.isEmpty()) {
                    throw new IllegalArgumentException("document " + n + ": metadata.name is required");
                }
                Object priority = m.get("spec") instanceof Map<?, ?> spec ? spec.get("priority") : null;
                if (priority != null && !(priority instanceof Integer || priority instanceof Long)) {
                    throw new IllegalArgumentException("document " + n + " (" + name + "): spec.priority must be "
                            + "an integer, got " + priority);
                }
                if (out.put(s, priority == null ? 0 : Math.toIntExact(((Number) priority).longValue())) != null) {
                    throw new IllegalArgumentException("document " + n + ": duplicate InferenceObjective " + s);
                }
            }
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("document " + (n + 1) + ": " + e.getMessage(), e);
        }
        return out;
    }

    private void poll() {
        try {
            String content = Files.readString(file, StandardCharsets.UTF_8);
            if (!content.equals(lastContent)) {
                apply(content, parse(content));
            }
        } catch (IOException | RuntimeException e) {
            String error = e.getMessage();
            if (!String.valueOf(error).equals(lastError)) {
                LOG.error("Cannot reload --inference-objectives-file {}, keeping the previous {} objectives: {}",
                        file, priorities.size(), error);
                lastError = error;
            }
        }
    }

    private void apply(String content, Map<String, Integer> next) {
        priorities = Map.copyOf(next);
        LOG.info("{} --inference-objectives-file {}: {} objectives {}", lastContent == null ? "Read" : "Reloaded",
                file, next.size(), Set.copyOf(next.keySet()));
        lastContent = content;
        lastError = null;
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
