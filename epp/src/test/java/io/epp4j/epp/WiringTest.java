package io.epp4j.epp;

import io.epp4j.epp.k8s.PoolOptions;
import io.epp4j.epp.scrape.ScrapeOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The EPP's flags → each part's own options; bad values are usage errors (exit 2), not start-up crashes. */
class WiringTest {

    @Test
    void poolFlagsMapToPoolOptions() throws Exception {
        EppOptions flags = EppOptions.parse(Map.of("NAMESPACE", "from-env"), "--pool-name=my-pool",
                "--pool-group=inference.networking.x-k8s.io", "--ha-enable-leader-election",
                "--ha-lease-duration=4s", "--ha-renew-deadline=3s", "--ha-retry-period=500ms");
        assertTrue(Wiring.wantsKubernetes(flags));
        PoolOptions o = Wiring.poolOptions(flags);
        assertEquals("my-pool", o.poolName());
        assertEquals("from-env", o.namespace());
        assertEquals(PoolOptions.GROUP_X, o.poolGroup());
        assertTrue(o.takesLease());
        assertEquals(Duration.ofSeconds(4), o.leaseDuration());
        assertEquals(Duration.ofMillis(500), o.retryPeriod());
        assertFalse(o.isStandalone());
    }

    @Test
    void standaloneFlagsMapToSelectorAndPorts() throws Exception {
        EppOptions flags = EppOptions.parse(Map.of(), "--endpoint-selector=app=vllm,tier=gpu",
                "--endpoint-target-ports=8000,8001", "--ha-enable-leader-election", "--ha-mode=active-active");
        PoolOptions o = Wiring.poolOptions(flags);
        assertTrue(o.isStandalone());
        assertEquals(Map.of("app", "vllm", "tier", "gpu"), o.endpointSelector());
        assertEquals(List.of(8000, 8001), o.endpointTargetPorts());
        assertEquals("default", o.namespace());
        assertFalse(o.takesLease(), "active-active takes no Lease");
    }

    @Test
    void scrapeFlagsMapToScrapeOptionsDeprecatedOnesOnlyWhenGiven() throws Exception {
        ScrapeOptions given = Wiring.scrapeOptions(EppOptions.parse(Map.of(), "--endpoints=127.0.0.1:1",
                "--model-server-metrics-scheme=https", "--model-server-metrics-path=/old",
                "--refresh-metrics-interval=75ms", "--model-server-metrics-port=9000"));
        assertEquals(new ScrapeOptions(Duration.ofMillis(75), Duration.ofSeconds(5), Duration.ofSeconds(2), "",
                "https", "/old", null, true), given);
        ScrapeOptions defaults = Wiring.scrapeOptions(EppOptions.parse(Map.of(), "--endpoints=127.0.0.1:1"));
        assertNull(defaults.scheme());
        assertNull(defaults.path());
        assertNull(defaults.insecureSkipVerify());
        assertFalse(defaults.portGiven());
    }

    @Test
    void staticEndpointsDoNotWantKubernetes() throws Exception {
        assertFalse(Wiring.wantsKubernetes(EppOptions.parse(Map.of(), "--endpoints=10.0.0.1:8000")));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--pool-name=p | --ha-mode=both",
            "--pool-name=p | --pool-group=example.com",
            "--pool-name=p | --ha-lease-duration=1s",
            "--pool-name=p | --endpoint-selector=app=vllm",
            "--endpoint-selector=app | --endpoint-target-ports=8000",
            "--endpoint-selector=app=vllm | --pool-namespace=ns"})
    void unusableFlagsAreUsageErrors(String first, String second) {
        assertThrows(EppOptions.UsageException.class, () -> EppOptions.parse(Map.of(), first, second));
    }
}
