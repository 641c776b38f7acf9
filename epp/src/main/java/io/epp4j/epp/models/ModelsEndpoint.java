package io.epp4j.epp.models;

import io.epp4j.epp.concurrent.DaemonThreads;
import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/models} answered by the EPP ({@code --enable-models-endpoint}): the union of what the pool's pods
 * serve, instead of one random pod's list. Off the request path, every refresh interval, it asks each pod's
 * {@code /v1/models} (base models and the LoRA adapters loaded there) and adds the adapters the pods' metrics report
 * running ({@code vllm:lora_requests_info}); the merged list, sorted by id, is swapped in as one immutable answer.
 * When two pods report the same id, the entry of the pod whose name sorts first wins, so the answer does not change
 * with the order pods reply in. A pod that does not answer keeps its last list until it leaves the pool. Until some
 * pod has reported, the answer is 503 (clients retry rather than see an empty list). Thread-safe.
 */
public final class ModelsEndpoint implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelsEndpoint.class);
    private static final JsonFactory JSON = new JsonFactory();
    static final String NOT_READY = "no endpoint has reported its models yet";

    /** The answer: an HTTP status and its JSON body (for 503, a message). */
    public record Answer(int status, String body) {
    }

    /** One model entry as a pod listed it; null fields were absent. */
    record Model(String id, long created, String ownedBy, String root, String parent, Long maxModelLen) {
    }

    private final EndpointStore store;
    private final HttpClient http;
    private final Duration timeout;
    private final Map<String, List<Model>> byEndpoint = new ConcurrentHashMap<>();
    private volatile Answer answer = new Answer(503, NOT_READY);
    private ScheduledExecutorService timer;

    ModelsEndpoint(EndpointStore store, Duration timeout) {
        this.store = store;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Starts refreshing every {@code interval}; the first refresh runs at once. */
    public static ModelsEndpoint start(EndpointStore store, Duration interval) {
        ModelsEndpoint m = new ModelsEndpoint(store, Duration.ofSeconds(2));
        m.timer = DaemonThreads.scheduler("models-endpoint");
        m.timer.scheduleWithFixedDelay(() -> {
            try {
                m.refresh();
            } catch (RuntimeException e) {
                LOG.warn("Refreshing the pool's model list failed", e);
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return m;
    }

    /** For tests: refreshed by calling {@link #refresh}, never on its own. */
    public static ModelsEndpoint manual(EndpointStore store) {
        return new ModelsEndpoint(store, Duration.ofSeconds(2));
    }

    /** Whether this request is the one the EPP answers: {@code GET /v1/models}. */
    public boolean matches(String method, String path) {
        return "GET".equals(method) && "/v1/models".equals(path);
    }

    /** The current answer. */
    public Answer answer() {
        return answer;
    }

    /** Asks every pod of the pool for its models (in parallel, waiting at most the timeout) and swaps the answer. */
    public void refresh() {
        List<Endpoint> endpoints = store.snapshot();
        Set<String> present = new java.util.HashSet<>();
        List<CompletableFuture<Void>> asks = new ArrayList<>();
        for (Endpoint e : endpoints) {
            EndpointInfo info = e.info();
            present.add(info.name());
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + info.hostPort() + "/v1/models"))
                    .timeout(timeout).GET().build();
            asks.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
                    .thenAccept(r -> {
                        if (r.statusCode() == 200) {
                            List<Model> models = parse(r.body());
                            if (models != null) {
                                byEndpoint.put(info.name(), models);
                            }
                        }
                    })
                    .exceptionally(t -> {
                        LOG.debug("GET /v1/models from {} failed: {}", info.hostPort(), t.toString());
                        return null;
                    }));
        }
        try {
            CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                    .get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.debug("Some pods did not list their models in time: {}", e.toString());
        }
        byEndpoint.keySet().retainAll(present);
        answer = merge(endpoints);
    }

    /** The union of every pod's list and running adapters, sorted by id; 503 while nothing was reported. */
    private Answer merge(List<Endpoint> endpoints) {
        Map<String, Model> merged = new TreeMap<>();
        List<Endpoint> byName = new ArrayList<>(endpoints);
        byName.sort((a, b) -> a.info().name().compareTo(b.info().name()));
        boolean reported = false;
        for (Endpoint e : byName) {
            List<Model> listed = byEndpoint.get(e.info().name());
            if (listed != null) {
                reported = true;
                for (Model m : listed) {
                    merged.putIfAbsent(m.id(), m);
                }
            }
        }
        // adapters running on a pod but missing from every list (the pod did not answer, or lists only its base)
        Set<String> bases = new java.util.TreeSet<>();
        merged.values().stream().filter(m -> m.parent() == null).forEach(m -> bases.add(m.id()));
        String onlyBase = bases.size() == 1 ? bases.iterator().next() : null;
        for (Endpoint e : byName) {
            for (String adapter : e.metrics().activeAdapters()) {
                reported = true;
                merged.putIfAbsent(adapter, new Model(adapter, 0, "vllm", null, onlyBase, null));
            }
        }
        if (!reported) {
            return new Answer(503, NOT_READY);
        }
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        boolean first = true;
        for (Model m : merged.values()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append("{\"id\":").append(quote(m.id())).append(",\"object\":\"model\",\"created\":")
                    .append(m.created()).append(",\"owned_by\":").append(quote(m.ownedBy()));
            if (m.root() != null) {
                sb.append(",\"root\":").append(quote(m.root()));
            }
            sb.append(",\"parent\":").append(m.parent() == null ? "null" : quote(m.parent()));
            if (m.maxModelLen() != null) {
                sb.append(",\"max_model_len\":").append(m.maxModelLen());
            }
            sb.append('}');
        }
        return new Answer(200, sb.append("]}").toString());
    }

    /** The entries of an OpenAI model list ({@code {"data": [{"id": ...}, ...]}}), or null when it is not one. */
    static List<Model> parse(byte[] body) {
        List<Model> out = new ArrayList<>();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (!name.equals("data") || t != JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    Map<String, Object> f = new HashMap<>();
                    while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                        String key = p.currentName();
                        JsonToken v = p.nextToken();
                        switch (v) {
                            case VALUE_STRING -> f.put(key, p.getString());
                            case VALUE_NUMBER_INT -> f.put(key, p.getLongValue());
                            default -> p.skipChildren();
                        }
                    }
                    if (f.get("id") instanceof String id && !id.isEmpty()) {
                        out.add(new Model(id, f.get("created") instanceof Long c ? c : 0,
                                f.get("owned_by") instanceof String o ? o : "vllm",
                                f.get("root") instanceof String r ? r : null,
                                f.get("parent") instanceof String par ? par : null,
                                f.get("max_model_len") instanceof Long l ? l : null));
                    }
                }
            }
        } catch (JacksonException e) {
            return null;
        }
        return out;
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
