package io.epp4j.scorers.topology;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.base.WarnOnce;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.Scorer;

import java.util.Arrays;
import java.util.List;

/**
 * {@code topology-affinity-scorer} (llm-d): in the prefill profile of a disaggregated request, scores each candidate
 * by the tightest topology level it shares with the decode pick (the pick of the profile that ran before): same host
 * 1.0, rack 0.2, zone 0.05, region 0.02, nothing 0 (a fixed curve following KV-transfer bandwidth, so co-location
 * wins outright and the looser levels only break ties). With no peer, or a peer or candidate of unknown topology,
 * the score is 0. {@code topologyProducerName} as for {@link TopologyAffinityFilter}.
 */
public final class TopologyAffinityScorer extends NamedPlugin implements Scorer {

    public static final String TYPE = "topology-affinity-scorer";

    /** Scores by {@link Topology.Level} ordinal. */
    private static final double[] CURVE = {1.0, 0.2, 0.05, 0.02, 0.0};

    private final String producerName;
    private final WarnOnce noExtractor = new WarnOnce(TopologyAffinityScorer.class);
    private final WarnOnce noPeer = new WarnOnce(TopologyAffinityScorer.class);

    public TopologyAffinityScorer(String name, PluginParameters parameters) {
        super(TYPE, name);
        this.producerName = parameters.getString("topologyProducerName", "").trim();
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        int n = endpoints.size();
        TopologyExtractor extractor = TopologyExtractor.find(state, producerName);
        Endpoint peer = state.peerEndpoint();
        Topology peerTopology = extractor == null || peer == null ? Topology.UNKNOWN : extractor.topologyOf(peer);
        if (peerTopology.unknown()) {
            if (extractor == null) {
                noExtractor.warn("{}: no topology-extractor named '{}' ran; every candidate scores 0", name(),
                        producerName);
            } else {
                noPeer.warn("{}: no earlier profile pick with a known topology (it runs in the profile after"
                        + " decode, on labelled pods); every candidate scores 0", name());
            }
            Arrays.fill(scores, 0, n, 0.0);
            return;
        }
        for (int i = 0; i < n; i++) {
            scores[i] = CURVE[extractor.topologyOf(endpoints.get(i)).shared(peerTopology).ordinal()];
        }
    }

    @Override
    public String requiredProducerType() {
        return TopologyExtractor.TYPE;
    }
}
