package io.epp4j.epp.k8s;

import io.epp4j.epp.director.ModelRewriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static io.epp4j.epp.k8s.MockApiServer.APP;
import static io.epp4j.epp.k8s.MockApiServer.NS;
import static io.epp4j.epp.k8s.MockApiServer.OBJECTIVE;
import static io.epp4j.epp.k8s.MockApiServer.POOL_V1;
import static io.epp4j.epp.k8s.MockApiServer.REWRITE;
import static io.epp4j.epp.k8s.MockApiServer.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** InferenceObjective and InferenceModelRewrite through the CRUD mock, and their absence. */
class ObjectivesAndRewritesTest {

    @RegisterExtension
    final PoolSourceFixture k8s = new PoolSourceFixture();
    private final MockApiServer api = k8s.api;
    private KubernetesPoolSource source;

    @BeforeEach
    void createPool() {
        api.create(POOL_V1, MockApiServer.poolV1("pool", APP, 8000));
        api.createPod(api.pod("vllm-a", APP, true));
    }

    private void start() {
        source = k8s.start(PoolOptions.forPool("pool", NS, PoolOptions.GROUP_V1), 42);
        await("synced", k8s.store::synced);
    }

    @Test
    void objectivesSetPriorityForTheirPoolOnly() {
        api.installOptionalCrds();
        api.create(OBJECTIVE, MockApiServer.objective("critical", "pool", PoolOptions.GROUP_V1, 10));
        api.create(OBJECTIVE, MockApiServer.objective("sheddable", "pool", null, -5)); // group defaults to v1
        api.create(OBJECTIVE, MockApiServer.objective("unset", "pool", PoolOptions.GROUP_V1, null));
        api.create(OBJECTIVE, MockApiServer.objective("elsewhere", "other-pool", PoolOptions.GROUP_V1, 99));
        api.create(OBJECTIVE, MockApiServer.objective("wrong-group", "pool", PoolOptions.GROUP_X, 99));
        start();
        assertTrue(source.objectivesWatched());

        await("critical known", () -> source.objectives().priorityOf("critical") == 10);
        assertEquals(-5, source.objectives().priorityOf("sheddable"));
        assertEquals(0, source.objectives().priorityOf("unset"), "unset priority is 0");
        assertEquals(0, source.objectives().priorityOf("elsewhere"), "bound to another pool");
        assertEquals(0, source.objectives().priorityOf("wrong-group"), "poolRef group must match --pool-group");
        assertEquals(0, source.objectives().priorityOf("nope"));
        assertEquals(0, source.objectives().priorityOf(null));

        api.update(OBJECTIVE, MockApiServer.objective("critical", "pool", PoolOptions.GROUP_V1, 20));
        await("priority updated", () -> source.objectives().priorityOf("critical") == 20);
        api.delete(OBJECTIVE, "critical");
        await("objective deleted", () -> source.objectives().priorityOf("critical") == 0);
    }

    @Test
    void rewritesPreferExactMatchThenOldestResource() {
        api.installOptionalCrds();
        // The API server stamps creationTimestamp (whole seconds); "older" sorts after "newer" by name, so only
        // the timestamp can make it win.
        api.create(REWRITE, MockApiServer.rewrite("older", "pool", null,
                "mistral -> mistral-v2", "llama -> llama-from-older"));
        Instant olderCreated = Instant.parse(api.admin().genericKubernetesResources(REWRITE).inNamespace(NS)
                .withName("older").get().getMetadata().getCreationTimestamp());
        await("the server clock passes the older rewrite's second",
                () -> Instant.now().truncatedTo(ChronoUnit.SECONDS).isAfter(olderCreated));
        api.create(REWRITE, MockApiServer.rewrite("newer", "pool", null,
                "llama -> llama-from-newer", "* -> catch-all-newer"));
        api.create(REWRITE, MockApiServer.rewrite("foreign", "other-pool", "2025-01-01T00:00:00Z",
                "* -> never"));
        start();
        assertTrue(source.rewritesWatched());

        await("rules loaded", () -> target(source, "mistral").equals("mistral-v2"));
        assertEquals("llama-from-older", target(source, "llama"), "oldest resource wins a tie");
        assertEquals("older", source.rewriter().rewrite("llama").rewriteName(), "the choice names its rewrite");
        assertEquals("catch-all-newer", target(source, "phi"), "exact beats catch-all, else catch-all");

        api.delete(REWRITE, "newer");
        await("catch-all gone", () -> target(source, "phi").equals("phi"));
        assertEquals("llama-from-older", target(source, "llama"));
    }

    @Test
    void weightedRewriteSplitsTrafficByWeight() {
        api.installOptionalCrds();
        api.create(REWRITE, MockApiServer.rewrite("canary", "pool", "2026-01-01T00:00:00Z",
                "llama -> llama-stable:90,llama-canary:10"));
        start();
        await("rules loaded", () -> !target(source, "llama").equals("llama"));

        int canary = 0;
        for (int i = 0; i < 10_000; i++) {
            if (target(source, "llama").equals("llama-canary")) {
                canary++;
            }
        }
        assertTrue(canary > 800 && canary < 1200, "about 10% canary, got " + canary);
    }

    @Test
    void objectivesAndRewritesUnderLlmdGroupAreWatched() {
        api.installLlmdCrds();
        api.create(MockApiServer.OBJECTIVE_LLMD, MockApiServer.objective("critical", "pool", PoolOptions.GROUP_V1,
                10));
        api.create(MockApiServer.REWRITE_LLMD, MockApiServer.rewrite("canary", "pool", null, "llama -> llama-v2"));
        start();
        assertEquals(PoolOptions.GROUP_LLMD, source.objectivesGroup());
        assertEquals(PoolOptions.GROUP_LLMD, source.rewritesGroup());
        await("objective known", () -> source.objectives().priorityOf("critical") == 10);
        await("rewrite known", () -> target(source, "llama").equals("llama-v2"));

        api.update(MockApiServer.OBJECTIVE_LLMD, MockApiServer.objective("critical", "pool", PoolOptions.GROUP_V1,
                20));
        await("priority updated", () -> source.objectives().priorityOf("critical") == 20);
        assertEquals(0, api.requestsMatching(PoolOptions.GROUP_X + "/v1alpha2/namespaces"),
                "the GAIE group is not watched");
    }

    @Test
    void llmdGroupWinsWhenBothGroupsAreServed() {
        api.installOptionalCrds();
        api.installLlmdCrds();
        api.create(MockApiServer.OBJECTIVE_LLMD, MockApiServer.objective("new-style", "pool", null, 7));
        api.create(OBJECTIVE, MockApiServer.objective("old-style", "pool", null, 3));
        start();
        assertEquals(PoolOptions.GROUP_LLMD, source.objectivesGroup());
        await("llm-d objective known", () -> source.objectives().priorityOf("new-style") == 7);
        assertEquals(0, source.objectives().priorityOf("old-style"), "GAIE-group objectives are ignored");
    }

    @Test
    void gaieGroupIsWatchedWhenLlmdGroupIsNotServed() {
        api.installOptionalCrds();
        start();
        assertEquals(PoolOptions.GROUP_X, source.objectivesGroup());
        assertEquals(PoolOptions.GROUP_X, source.rewritesGroup());
    }

    @Test
    void discoveryFailingAtStartIsRetriedUntilTheApiServerAnswers() {
        api.installOptionalCrds();
        api.dispatcher.failingDiscoveries.set(4); // more than the client's own retries
        api.create(OBJECTIVE, MockApiServer.objective("critical", "pool", PoolOptions.GROUP_V1, 10));
        start();
        assertTrue(source.objectivesWatched(), "watched once discovery answered");
        assertTrue(source.rewritesWatched());
        await("objective known", () -> source.objectives().priorityOf("critical") == 10);
        assertEquals(5, api.requestsEqual("GET /apis/" + PoolOptions.GROUP_X + "/v1alpha2"),
                "4 failed discovery calls, then one that answered; none after");
    }

    @Test
    void missingOptionalCrdsAreSkippedWithoutRetrying() {
        start(); // CRDs not installed
        assertFalse(source.objectivesWatched());
        assertFalse(source.rewritesWatched());
        assertEquals(0, source.objectives().priorityOf("anything"));
        assertEquals("llama", target(source, "llama"));

        // The pool keeps working, and nothing keeps knocking on the missing APIs.
        api.createPod(api.pod("vllm-b", APP, true));
        await("pod b", () -> k8s.store.size() == 2);
        assertEquals(1, api.requestsEqual("GET /apis/" + PoolOptions.GROUP_X + "/v1alpha2"),
                "one discovery call");
        assertEquals(0, api.requestsMatching("inferenceobjectives"));
        assertEquals(0, api.requestsMatching("inferencemodelrewrites"));
        assertTrue(source.ready());
    }

    /** The model a request for {@code model} is served as under the source's rewrite rules. */
    private static String target(KubernetesPoolSource source, String model) {
        ModelRewriter.Choice choice = source.rewriter().rewrite(model);
        return choice == null ? model : choice.targetModel();
    }
}
