package io.epp4j.epp.k8s;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolOptionsTest {

    @Test
    void leaseIsNamedAsGaieNamesIt() {
        PoolOptions o = PoolOptions.forPool("vllm-llama3", "prod", PoolOptions.GROUP_V1);
        assertEquals("epp-prod-vllm-llama3.gateway-api-inference-extension.sigs.k8s.io", o.leaseName());
    }

    @ParameterizedTest
    @CsvSource(nullValues = "null", value = {
            "ns-flag, env-ns, ns-flag",
            "'',      env-ns, env-ns",
            "null,    env-ns, env-ns",
            "null,    null,   default",
            "'  ',    '',     default"})
    void namespaceComesFromFlagThenEnvThenDefault(String flag, String env, String expected) {
        Map<String, String> environment = env == null ? Map.of() : Map.of("NAMESPACE", env);
        assertEquals(expected, PoolOptions.resolveNamespace(flag, environment));
    }

    @ParameterizedTest
    @CsvSource(nullValues = "null", value = {
            "my-epp-5d8f7c9b4-x2x7q, my-epp",
            "a-b-c-1-2,             a-b-c",
            "single,                single",
            "null,                  epp-standalone"})
    void standalonePoolNameIsTheDeploymentOfThePod(String pod, String expected) {
        assertEquals(expected, PoolOptions.deploymentNameOf(pod));
    }

    @Test
    void selectorAndPortsParse() {
        assertEquals(Map.of("app", "vllm", "tier", "gpu"), PoolOptions.parseSelector("app=vllm, tier=gpu"));
        assertEquals(List.of(8000, 8001), PoolOptions.parsePorts("8000,8001,8000"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"app", "=v", "a=1,a=2"})
    void badSelectorsAreRejected(String selector) {
        assertThrows(IllegalArgumentException.class, () -> PoolOptions.parseSelector(selector));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "x", "0", "70000", "1,2,3,4,5,6,7,8,9"})
    void badPortListsAreRejected(String ports) {
        assertThrows(IllegalArgumentException.class, () -> PoolOptions.parsePorts(ports));
    }

    @Test
    void haModesAndLeaseTimings() {
        PoolOptions o = PoolOptions.forPool("p", "ns", PoolOptions.GROUP_V1);
        assertFalse(o.takesLease());
        assertTrue(o.withLeaderElection(true, PoolOptions.HaMode.ACTIVE_PASSIVE).takesLease());
        assertFalse(o.withLeaderElection(true, PoolOptions.HaMode.ACTIVE_ACTIVE).takesLease());
        assertEquals(PoolOptions.HaMode.ACTIVE_ACTIVE, PoolOptions.HaMode.parse("active-active"));
        assertThrows(IllegalArgumentException.class, () -> PoolOptions.HaMode.parse("both"));
        assertThrows(IllegalArgumentException.class,
                () -> o.withLeaseTimings(Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class,
                () -> PoolOptions.forPool("p", "ns", "example.com"));
    }
}
