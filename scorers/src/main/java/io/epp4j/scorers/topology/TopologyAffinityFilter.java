package io.epp4j.scorers.topology;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code topology-affinity-filter} (llm-d): in the prefill profile of a disaggregated request, keeps the candidates
 * at least as close to the decode pick as {@code minAffinity} ({@code host} (default), {@code rack}, {@code zone}
 * or {@code region}). The peer is the pick of the profile that ran before ({@link CycleState#peerEndpoint()}).
 *
 * <p>It fails open: with no peer, a peer of unknown topology, or no candidate close enough, every candidate stays.
 * Otherwise a candidate of unknown topology is dropped. {@code topologyProducerName} names the
 * {@code topology-extractor} to read (default: the configured one; one is created when none is configured).
 */
public final class TopologyAffinityFilter extends NamedPlugin implements Filter {

    public static final String TYPE = "topology-affinity-filter";

    private final Topology.Level minAffinity;
    private final String producerName;
    private final WarnOnce noExtractor = new WarnOnce(TopologyAffinityFilter.class);
    private final WarnOnce noPeer = new WarnOnce(TopologyAffinityFilter.class);

    public TopologyAffinityFilter(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.minAffinity = Topology.Level.parse(parameters.getString("minAffinity", "host").trim());
        this.producerName = parameters.getString("topologyProducerName", "").trim();
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        TopologyExtractor extractor = TopologyExtractor.find(state, producerName);
        if (extractor == null) {
            noExtractor.warn("{}: no topology-extractor named '{}' ran; every candidate passes", name(), producerName);
            return endpoints;
        }
        Endpoint peer = state.peerEndpoint();
        Topology peerTopology = peer == null ? Topology.UNKNOWN : extractor.topologyOf(peer);
        if (peerTopology.unknown()) {
            noPeer.warn("{}: no earlier profile pick with a known topology (it runs in the profile after decode,"
                    + " on labelled pods); every candidate passes", name());
            return endpoints;
        }
        List<Endpoint> kept = new ArrayList<>(endpoints.size());
        for (Endpoint e : endpoints) {
            if (extractor.topologyOf(e).shared(peerTopology).compareTo(minAffinity) <= 0) {
                kept.add(e);
            }
        }
        return kept.isEmpty() ? endpoints : kept;
    }

    @Override
    public String requiredProducerType() {
        return TopologyExtractor.TYPE;
    }
}
