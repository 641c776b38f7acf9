package io.epp4j.scorers.llmd;

import io.epp4j.scorers.affinity.HeaderLabelAffinityScorer;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.PluginParameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.epp4j.scorers.Fixtures.info;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HeaderLabelAffinityScorerTest {

    static Endpoint pod(int i, String zone, int queue) {
        return new Endpoint(info(i, zone == null ? Map.of() : Map.of("topology.kubernetes.io/zone", zone)),
                io.epp4j.scorers.Fixtures.endpoint(i, queue, 0, 0).metrics(), 0, 0);
    }

    final HeaderLabelAffinityScorer zone = new HeaderLabelAffinityScorer("zone-affinity", new PluginParameters(
            Map.of("headerName", "X-Preferred-Zone", "labelKey", "topology.kubernetes.io/zone")));
    final List<Endpoint> pool = List.of(pod(1, "a", 0), pod(2, "b", 4), pod(3, null, 0));

    @Test
    void prefersEndpointsLabelledWithTheHeaderValueOverALighterOne() {
        String picked = Routing.pick(new CycleState(), request("m", "p", Map.of("x-preferred-zone", "b")), pool,
                List.of(), Map.of(zone, 3.0, new QueueScorer(null), 1.0));
        assertEquals("pod-2", picked);
    }

    @Test
    void withoutTheHeaderOrWithAnUnknownValueOtherScorersDecide() {
        double[] s = new double[3];
        zone.score(new CycleState(), request("m", "p", Map.of()), pool, s);
        assertEquals(List.of(0.0, 0.0, 0.0), List.of(s[0], s[1], s[2]));
        zone.score(new CycleState(), request("m", "p", Map.of("x-preferred-zone", "z")), pool, s);
        assertEquals(List.of(0.0, 0.0, 0.0), List.of(s[0], s[1], s[2]));
    }

    @Test
    void needsBothParameters() {
        assertThrows(IllegalArgumentException.class, () -> new HeaderLabelAffinityScorer(null,
                new PluginParameters(Map.of("headerName", "x-a"))));
    }
}
