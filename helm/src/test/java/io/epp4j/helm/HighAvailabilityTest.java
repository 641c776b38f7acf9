package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** replicas > 1: active-passive with a lease, and probes that keep standby replicas alive but not ready. */
class HighAvailabilityTest {

    private static Chart.Rendered rendered;

    @BeforeAll
    static void render() {
        rendered = Chart.release("pool", "llm").set("inferenceExtension.replicas", 3).render();
    }

    @Test
    void threeReplicasTurnOnLeaderElection() {
        Deployment deployment = rendered.get(Deployment.class, "pool-epp");
        assertEquals(3, deployment.getSpec().getReplicas());
        assertEquals("Recreate", deployment.getSpec().getStrategy().getType());
        List<String> args = DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs();
        assertEquals(1, args.stream().filter("--ha-enable-leader-election"::equals).count(), args::toString);
    }

    @Test
    void probesUseTheLivenessAndReadinessHealthServices() {
        Container epp = DefaultValuesTest.eppContainer(rendered, "pool-epp");
        assertEquals("liveness", epp.getLivenessProbe().getGrpc().getService());
        assertEquals("readiness", epp.getReadinessProbe().getGrpc().getService());
        assertEquals(9003, epp.getReadinessProbe().getGrpc().getPort());
    }

    @Test
    void leaseRoleGrantsLeasesAndEventsToTheEppServiceAccount() {
        Role role = rendered.get(Role.class, "pool-epp-leader-election");
        assertEquals(List.of(
                new PolicyRuleBuilder().withApiGroups("coordination.k8s.io").withResources("leases")
                        .withVerbs("get", "list", "watch", "create", "update", "patch", "delete").build(),
                new PolicyRuleBuilder().withApiGroups("").withResources("events")
                        .withVerbs("create", "patch").build()), role.getRules());
        RoleBinding binding = rendered.get(RoleBinding.class, "pool-epp-leader-election");
        assertEquals("pool-epp-leader-election", binding.getRoleRef().getName());
        assertEquals("pool-epp", binding.getSubjects().get(0).getName());
        assertEquals("llm", binding.getSubjects().get(0).getNamespace());
    }

    @Test
    void singleReplicaHasNoLeaseRole() {
        Chart.Rendered single = Chart.release("pool", "llm").render();
        assertTrue(single.objects.stream().noneMatch(o -> o.getMetadata().getName().endsWith("leader-election")));
    }

    @Test
    void lintPasses() {
        var lint = Chart.release("pool", "llm").set("inferenceExtension.replicas", 3).lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }
}
