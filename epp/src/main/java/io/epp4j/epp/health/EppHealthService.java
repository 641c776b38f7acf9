package io.epp4j.epp.health;

import io.epp4j.epp.datastore.EndpointStore;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;

import java.util.function.BooleanSupplier;

/**
 * {@code grpc.health.v1.Health} with GAIE's service-name semantics. Leader election off: every service name is
 * SERVING iff the pool is synced. Leader election on: {@code liveness} is always SERVING; {@code readiness},
 * {@code ""} and the ext_proc service name are SERVING iff synced and leader; other names are SERVICE_UNKNOWN.
 * Watch is not implemented (as in GAIE).
 */
public final class EppHealthService extends HealthGrpc.HealthImplBase {

    public static final String EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor";

    private final EndpointStore store;
    private final boolean leaderElection;
    private final BooleanSupplier isLeader;
    private volatile boolean shuttingDown;

    public EppHealthService(EndpointStore store, boolean leaderElection, BooleanSupplier isLeader) {
        this.store = store;
        this.leaderElection = leaderElection;
        this.isLeader = isLeader;
    }

    /** From now on every check reports NOT_SERVING (liveness excepted), so probes drain traffic on shutdown. */
    public void shutdown() {
        shuttingDown = true;
    }

    /** The status GAIE reports for a service name. */
    public ServingStatus statusOf(String service) {
        boolean ready = store.synced() && !shuttingDown;
        if (!leaderElection) {
            return ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        }
        switch (service) {
            case "liveness":
                return ServingStatus.SERVING;
            case "readiness":
            case "":
            case EXT_PROC_SERVICE:
                return ready && isLeader.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            default:
                return ServingStatus.SERVICE_UNKNOWN;
        }
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
        responseObserver.onNext(HealthCheckResponse.newBuilder().setStatus(statusOf(request.getService())).build());
        responseObserver.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
        responseObserver.onError(Status.UNIMPLEMENTED.withDescription("Watch is not implemented").asException());
    }
}
