package io.epp4j.scorers.topology;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.DataProducer;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code topology-extractor} (llm-d): reads where each endpoint runs from its pod's labels, for
 * {@code topology-affinity-filter} and {@code topology-affinity-scorer}. Parameters name the labels: {@code hostname}
 * ({@code kubernetes.io/hostname}), {@code rack} ({@code topology.kubernetes.io/rack}), {@code zone}
 * ({@code topology.kubernetes.io/zone}) and {@code region} ({@code topology.kubernetes.io/region}). llm-d falls back
 * to the pod's {@code spec.hostname} when the hostname label is absent; epp4j reads labels only, so label the pods
 * (for example from the node through the downward API or an admission webhook).
 *
 * <p>As a data producer it makes itself known to the affinity plugins of each request (under its name, and as the
 * default extractor); it computes nothing per request until they ask.
 */
public final class TopologyExtractor extends NamedPlugin implements DataProducer {

    public static final String TYPE = "topology-extractor";

    static final CycleState.Key<TopologyExtractor> DEFAULT = new CycleState.Key<>("topology-extractor/default");
    private static final ConcurrentHashMap<String, CycleState.Key<TopologyExtractor>> KEYS = new ConcurrentHashMap<>();

    private final String hostnameLabel;
    private final String rackLabel;
    private final String zoneLabel;
    private final String regionLabel;

    public TopologyExtractor(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.hostnameLabel = label(parameters, "hostname", "kubernetes.io/hostname");
        this.rackLabel = label(parameters, "rack", "topology.kubernetes.io/rack");
        this.zoneLabel = label(parameters, "zone", "topology.kubernetes.io/zone");
        this.regionLabel = label(parameters, "region", "topology.kubernetes.io/region");
    }

    private static String label(PluginParameters parameters, String field, String defaultLabel) {
        String v = parameters.getString(field, "").trim();
        return v.isEmpty() ? defaultLabel : v;
    }

    /** The cycle-state key under which the extractor named {@code name} announces itself. */
    static CycleState.Key<TopologyExtractor> keyFor(String name) {
        return KEYS.computeIfAbsent(name, n -> new CycleState.Key<>("topology-extractor/" + n));
    }

    @Override
    public void produce(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        state.put(keyFor(name()), this);
        if (state.get(DEFAULT) == null) {
            state.put(DEFAULT, this);
        }
    }

    /** The endpoint's topology from its labels ({@link Topology#UNKNOWN} when it has none of them). */
    public Topology topologyOf(Endpoint endpoint) {
        Map<String, String> labels = endpoint.info().labels();
        return new Topology(labels.getOrDefault(hostnameLabel, ""), labels.getOrDefault(rackLabel, ""),
                labels.getOrDefault(zoneLabel, ""), labels.getOrDefault(regionLabel, ""));
    }

    /** The extractor a topology plugin reads: the named one, or the default when {@code name} is empty. */
    static TopologyExtractor find(CycleState state, String name) {
        return state.get(name.isEmpty() ? DEFAULT : keyFor(name));
    }
}
