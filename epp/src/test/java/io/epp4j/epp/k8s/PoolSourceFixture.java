package io.epp4j.epp.k8s;

import io.epp4j.epp.datastore.EndpointStore;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.time.Clock;
import java.time.Duration;
import java.util.Random;

import static io.epp4j.epp.k8s.MockApiServer.await;

/**
 * fabric8's CRUD mock API server, the endpoint store a pool source fills, and that source; closed together, after
 * each test when registered with {@code @RegisterExtension}.
 */
final class PoolSourceFixture implements AutoCloseable, AfterEachCallback {

    final MockApiServer api = new MockApiServer();
    final EndpointStore store = new EndpointStore();
    private KubernetesPoolSource source;

    /**
     * Starts the source and waits until it watches: the mock API server does not replay events from a
     * resourceVersion, so changes made between the list and the watch would be lost; a real API server replays them.
     */
    KubernetesPoolSource start(PoolOptions options, long seed) {
        source = KubernetesPoolSource.start(api.newClient(), options.withWatchCheckInterval(Duration.ofMillis(50)),
                store, new PrometheusRegistry(), Clock.systemUTC(), new Random(seed));
        await("watching", source::watching);
        return source;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        close();
    }

    @Override
    public void close() {
        if (source != null) {
            source.close();
        }
        api.close();
    }
}
