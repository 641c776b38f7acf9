package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * {@code envoy.service.ext_proc.v3.ExternalProcessor} for body-based routing (BBR), in front of the gateway's route
 * matching: one {@link BodyRoutingStream} per HTTP request, which sets the {@link BodyRouter}'s headers, clears the
 * route cache and passes the body (and the whole response) through unchanged.
 */
public final class BodyRoutingService extends ExternalProcessorGrpc.ExternalProcessorImplBase {

    private final BodyRouter router;
    private final long maxBodyBytes;

    /** @param maxBodyBytes bodies larger than this pass through unread, without routing headers */
    public BodyRoutingService(BodyRouter router, long maxBodyBytes) {
        this.router = router;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public StreamObserver<ProcessingRequest> process(StreamObserver<ProcessingResponse> responseObserver) {
        return new BodyRoutingStream(router, maxBodyBytes, (ServerCallStreamObserver<ProcessingResponse>) responseObserver);
    }
}
