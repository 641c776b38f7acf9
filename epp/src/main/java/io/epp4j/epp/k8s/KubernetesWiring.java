package io.epp4j.epp.k8s;

import io.epp4j.epp.EppOptions;
import io.epp4j.epp.EppServer;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.ObjectiveResolver;
import io.fabric8.kubernetes.client.KubernetesClient;

import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Plugs the Kubernetes source into {@link EppServer} when {@code --pool-name} or {@code --endpoint-selector} is
 * given: it becomes the endpoint source, and supplies objectives, model rewrites and leadership.
 */
public final class KubernetesWiring {

    private KubernetesWiring() {
    }

    /** Whether the flags ask for Kubernetes mode. */
    public static boolean wanted(EppOptions options) {
        return options.isSet("pool-name") || options.isSet("endpoint-selector");
    }

    /**
     * The watcher's options from the EPP's flags.
     *
     * @throws IllegalArgumentException with a message for the user when a flag value is unusable
     */
    public static PoolOptions poolOptions(EppOptions options) {
        PoolOptions base;
        if (options.isSet("endpoint-selector")) {
            base = PoolOptions.standalone(PoolOptions.parseSelector(options.endpointSelector()),
                    PoolOptions.parsePorts(joined(options)), options.poolNamespace(), System.getenv("POD_NAME"));
        } else {
            base = PoolOptions.forPool(options.poolName(), options.poolNamespace(), options.poolGroup());
        }
        return base.withLeaderElection(options.haEnableLeaderElection(), PoolOptions.HaMode.parse(options.haMode()))
                .withLeaseTimings(options.haLeaseDuration(), options.haRenewDeadline(), options.haRetryPeriod());
    }

    private static String joined(EppOptions options) {
        StringBuilder sb = new StringBuilder();
        for (Integer p : options.endpointTargetPorts()) {
            sb.append(sb.length() == 0 ? "" : ",").append(p);
        }
        return sb.toString();
    }

    /**
     * Installs the Kubernetes source into {@code components}, with a client found the standard way (in-cluster
     * service account, else KUBECONFIG, else ~/.kube/config). The client is closed with the server.
     */
    public static EppServer.Components install(EppServer.Components components) {
        return install(components, KubernetesPoolSource::defaultClient, new Random());
    }

    static EppServer.Components install(EppServer.Components components, Supplier<KubernetesClient> clients,
                                        Random rewriteRandom) {
        AtomicReference<KubernetesPoolSource> started = new AtomicReference<>();
        return components
                .endpointSource(context -> {
                    KubernetesClient client = clients.get();
                    KubernetesPoolSource source;
                    try {
                        source = KubernetesPoolSource.start(client, poolOptions(context.options()),
                                context.endpointStore(), context.registry(), context.clock(), rewriteRandom);
                    } catch (RuntimeException e) {
                        client.close();
                        throw e;
                    }
                    started.set(source);
                    return () -> {
                        source.close();
                        client.close();
                    };
                })
                // Built after the endpoint source (EppServer's order), so the source is known here.
                .objectiveResolver(context -> started.get() == null ? ObjectiveResolver.NONE
                        : started.get().objectives())
                .modelRewriter(context -> started.get() == null ? ModelRewriter.NONE : started.get().rewriter())
                .leader(() -> {
                    KubernetesPoolSource s = started.get();
                    return s != null && s.isLeader();
                });
    }
}
