package io.epp4j.epp.health;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;

/**
 * The health service registered on the ext_proc port with {@code --health-checking} (what Envoy's cluster health
 * check probes): the ext_proc service and "" are SERVING while the server runs.
 */
public final class ExtProcPortHealthService extends HealthGrpc.HealthImplBase {

    private volatile boolean shuttingDown;

    public void shutdown() {
        shuttingDown = true;
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
        String service = request.getService();
        ServingStatus status;
        if (service.isEmpty() || service.equals(EppHealthService.EXT_PROC_SERVICE)) {
            status = shuttingDown ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
        } else {
            status = ServingStatus.SERVICE_UNKNOWN;
        }
        responseObserver.onNext(HealthCheckResponse.newBuilder().setStatus(status).build());
        responseObserver.onCompleted();
    }
}
