package io.epp4j.bench.configs;

import io.epp4j.epp.config.ConfigLoader;
import io.epp4j.epp.flowcontrol.FlowController;
import io.epp4j.epp.flowcontrol.FlowRequest;
import io.epp4j.epp.flowcontrol.Outcome;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.PluginMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The replay's {@code flow-control-concurrency} policy ({@code bench/configs/flow-control-concurrency.yaml}) holds
 * back the lower priorities as its comments say: 128 requests in flight a pod, of which standard traffic may fill
 * three quarters and sheddable traffic half, so critical requests find room while the others wait.
 */
class FlowControlProfileTest {

    private static List<Endpoint> podWithInFlight(int requests) {
        return List.of(new Endpoint(new EndpointInfo("pod-0", "ns", "pod-0", "10.0.0.1", 8000, Map.of()),
                EndpointMetrics.UNKNOWN, requests, 0));
    }

    private static Outcome admit(FlowController flow, int priority) {
        return flow.enqueue(new FlowRequest("tenant-" + priority, priority, 1000, "m", "m", -1)).outcome();
    }

    @Test
    void criticalRequestsKeepTheHeadroomThatLowerPrioritiesAreHeldOutOf() throws Exception {
        ConfigLoader loader = new ConfigLoader(PluginRegistry.standard(),
                new PluginEnvironment(Clock.systemUTC(), System::nanoTime, 42, PluginMetrics.NONE));
        try (SchedulingEngine engine = new SchedulingEngine(loader.loadFile(Path.of("configs",
                "flow-control-concurrency.yaml")), new PrometheusRegistry(), Clock.systemUTC(), System::nanoTime, 16)) {
            AtomicReference<List<Endpoint>> pool = new AtomicReference<>(podWithInFlight(60));
            try (FlowController flow = new FlowController(engine::flowControl, pool::get, null,
                    System::nanoTime)) {
                // under half the pod's concurrency nobody waits, sheddable traffic included
                for (int priority : new int[] {1, 0, -1}) {
                    assertEquals(Outcome.DISPATCHED, admit(flow, priority), "priority " + priority + " at 60/128");
                }
                // past three quarters only critical traffic goes on; the others wait (no outcome yet)
                pool.set(podWithInFlight(100));
                assertNull(admit(flow, -1), "sheddable at 100/128");
                assertNull(admit(flow, 0), "standard at 100/128");
                assertEquals(Outcome.DISPATCHED, admit(flow, 1), "critical at 100/128");
                pool.set(podWithInFlight(127));
                assertEquals(Outcome.DISPATCHED, admit(flow, 1), "critical at 127/128");
                // at the limit critical traffic waits too
                pool.set(podWithInFlight(128));
                assertNull(admit(flow, 1), "critical at 128/128");
                assertEquals(3, flow.queuedRequests());
            }
        }
    }
}
