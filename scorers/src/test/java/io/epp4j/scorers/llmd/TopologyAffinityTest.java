package io.epp4j.scorers.llmd;

import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.scorers.topology.TopologyAffinityFilter;
import io.epp4j.scorers.topology.TopologyAffinityScorer;
import io.epp4j.scorers.topology.TopologyExtractor;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.info;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TopologyAffinityTest {

    static Endpoint pod(int i, String host, String rack, String zone, int queue) {
        Map<String, String> labels = new HashMap<>();
        if (host != null) {
            labels.put("kubernetes.io/hostname", host);
        }
        if (rack != null) {
            labels.put("topology.kubernetes.io/rack", rack);
        }
        if (zone != null) {
            labels.put("topology.kubernetes.io/zone", zone);
        }
        return new Endpoint(info(i, labels), io.epp4j.scorers.Fixtures.endpoint(i, queue, 0, 0).metrics(), 0, 0);
    }

    final Endpoint decode = pod(0, "h1", "r1", "z1", 0);
    final Endpoint sameHost = pod(1, "h1", "r1", "z1", 8);
    final Endpoint sameRack = pod(2, "h2", "r1", "z1", 2);
    final Endpoint sameZone = pod(3, "h3", "r2", "z1", 0);
    final Endpoint unlabelled = pod(4, null, null, null, 0);
    final List<Endpoint> prefill = List.of(sameHost, sameRack, sameZone, unlabelled);
    final TopologyExtractor extractor = new TopologyExtractor(null, PluginParameters.EMPTY);

    /** The cycle state of a prefill profile running after decode picked {@code peer}. */
    CycleState afterDecode(Endpoint peer) {
        CycleState state = new CycleState();
        extractor.produce(state, request("p"), List.of());
        Map<String, List<Endpoint>> picks = new LinkedHashMap<>();
        picks.put("decode", peer == null ? List.of() : List.of(peer));
        state.put(CycleState.PROFILE_PICKS, picks);
        return state;
    }

    @Test
    void scorerSendsPrefillToTheDecodeHostOverLessLoadedPods() {
        TopologyAffinityScorer scorer = new TopologyAffinityScorer(null, PluginParameters.EMPTY);
        String picked = Routing.pick(afterDecode(decode), request("p"), prefill, List.of(),
                Map.of(scorer, 1.0, new QueueScorer(null), 0.5));
        assertEquals("pod-1", picked);
        double[] s = new double[4];
        scorer.score(afterDecode(decode), request("p"), prefill, s);
        assertEquals(List.of(1.0, 0.2, 0.05, 0.0), List.of(s[0], s[1], s[2], s[3]));
    }

    @Test
    void scorerGivesZeroEverywhereWithoutAPeer() {
        TopologyAffinityScorer scorer = new TopologyAffinityScorer(null, PluginParameters.EMPTY);
        double[] s = {9, 9, 9, 9};
        scorer.score(afterDecode(null), request("p"), prefill, s);
        assertEquals(List.of(0.0, 0.0, 0.0, 0.0), List.of(s[0], s[1], s[2], s[3]));
    }

    @Test
    void filterKeepsCandidatesAtLeastAsCloseAsMinAffinity() {
        TopologyAffinityFilter host = new TopologyAffinityFilter(null, PluginParameters.EMPTY);
        TopologyAffinityFilter rack = new TopologyAffinityFilter(null,
                new PluginParameters(Map.of("minAffinity", "rack")));
        assertEquals(List.of("pod-1"), Routing.pods(host.filter(afterDecode(decode), request("p"), prefill)));
        assertEquals(List.of("pod-1", "pod-2"),
                Routing.pods(rack.filter(afterDecode(decode), request("p"), prefill)));
        // with the host filter the least-loaded pod can no longer win
        assertEquals("pod-1", Routing.pick(afterDecode(decode), request("p"), prefill, List.of(host),
                Map.of(new QueueScorer(null), 1.0)));
    }

    @Test
    void filterFailsOpenWithoutPeerOrWhenNothingIsCloseEnough() {
        TopologyAffinityFilter host = new TopologyAffinityFilter(null, PluginParameters.EMPTY);
        assertEquals(prefill, host.filter(afterDecode(null), request("p"), prefill));
        assertEquals(prefill, host.filter(afterDecode(unlabelled), request("p"), prefill));
        List<Endpoint> farAway = List.of(sameRack, sameZone);
        assertEquals(farAway, host.filter(afterDecode(decode), request("p"), farAway));
    }

    @Test
    void extractorReadsTheConfiguredLabelsAndNamedInstancesAreFound() {
        TopologyExtractor custom = new TopologyExtractor("gpu-topology",
                new PluginParameters(Map.of("hostname", "example.com/nvlink-domain")));
        Endpoint a = new Endpoint(info(1, Map.of("example.com/nvlink-domain", "nvl72-a")), decode.metrics(), 0, 0);
        Endpoint b = new Endpoint(info(2, Map.of("example.com/nvlink-domain", "nvl72-a")), decode.metrics(), 0, 0);
        Endpoint c = new Endpoint(info(3, Map.of("example.com/nvlink-domain", "nvl72-b")), decode.metrics(), 0, 0);
        CycleState state = new CycleState();
        custom.produce(state, request("p"), List.of());
        state.put(CycleState.PROFILE_PICKS, Map.of("decode", List.of(a)));
        TopologyAffinityFilter filter = new TopologyAffinityFilter(null,
                new PluginParameters(Map.of("topologyProducerName", "gpu-topology")));
        assertEquals(List.of(b), filter.filter(state, request("p"), List.of(b, c)));
    }
}
