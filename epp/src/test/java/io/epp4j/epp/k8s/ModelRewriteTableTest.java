package io.epp4j.epp.k8s;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.epp4j.epp.director.ModelRewriter;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Rewrite precedence and weights, without an API server. */
class ModelRewriteTableTest {

    private static ModelRewriteTable table(long seed, GenericKubernetesResource... rewrites) {
        ModelRewriteTable t = new ModelRewriteTable("pool", PoolOptions.GROUP_V1, new Random(seed));
        t.rebuild(List.of(rewrites));
        return t;
    }

    @Test
    void exactMatchBeatsCatchAllEvenFromANewerResource() {
        ModelRewriteTable t = table(1,
                MockApiServer.rewrite("old", "pool", "2026-01-01T00:00:00Z", "* -> generic"),
                MockApiServer.rewrite("new", "pool", "2026-03-01T00:00:00Z", "llama -> llama-exact"));
        assertEquals(new ModelRewriter.Choice("new", "llama-exact"), t.rewrite("llama"));
        assertEquals(new ModelRewriter.Choice("old", "generic"), t.rewrite("other"));
    }

    @Test
    void oldestResourceWinsThenFirstRuleInListOrder() {
        ModelRewriteTable t = table(1,
                MockApiServer.rewrite("b-newer", "pool", "2026-02-01T00:00:00Z", "m -> from-newer"),
                MockApiServer.rewrite("a-older", "pool", "2026-01-01T00:00:00Z", "m -> first", "m -> second"));
        assertEquals(new ModelRewriter.Choice("a-older", "first"), t.rewrite("m"));
    }

    @Test
    void sameCreationTimeFallsBackToNameOrder() {
        ModelRewriteTable t = table(1,
                MockApiServer.rewrite("zeta", "pool", "2026-01-01T00:00:00Z", "* -> from-zeta"),
                MockApiServer.rewrite("alpha", "pool", "2026-01-01T00:00:00Z", "* -> from-alpha"));
        assertEquals("from-alpha", t.rewrite("x").targetModel());
    }

    @Test
    void noRuleKeepsTheModelAndOtherPoolsAreIgnored() {
        ModelRewriteTable t = table(1,
                MockApiServer.rewrite("foreign", "other", "2026-01-01T00:00:00Z", "* -> never"));
        assertNull(t.rewrite("llama"));
        assertNull(t.rewrite(null));
    }

    @Test
    void weightsSplitTrafficAndAbsentWeightsSplitEvenly() {
        ModelRewriteTable weighted = table(3,
                MockApiServer.rewrite("w", "pool", "2026-01-01T00:00:00Z", "m -> a:1,b:3"));
        ModelRewriteTable even = table(3,
                MockApiServer.rewrite("e", "pool", "2026-01-01T00:00:00Z", "m -> a,b"));
        Map<String, Integer> w = new HashMap<>();
        Map<String, Integer> e = new HashMap<>();
        for (int i = 0; i < 20_000; i++) {
            w.merge(weighted.rewrite("m").targetModel(), 1, Integer::sum);
            e.merge(even.rewrite("m").targetModel(), 1, Integer::sum);
        }
        assertEquals(0.75, w.get("b") / 20_000.0, 0.02);
        assertEquals(0.5, e.get("b") / 20_000.0, 0.02);
    }

    @Test
    void sameSeedGivesTheSameSequence() {
        GenericKubernetesResource r = MockApiServer.rewrite("w", "pool", "2026-01-01T00:00:00Z", "m -> a:1,b:1,c:1");
        ModelRewriteTable first = table(99, r);
        ModelRewriteTable second = table(99, r);
        for (int i = 0; i < 100; i++) {
            assertEquals(first.rewrite("m"), second.rewrite("m"));
        }
    }
}
