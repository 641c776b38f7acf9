package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.service.ext_proc.v3.ExternalProcessorGrpc;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code envoy.service.ext_proc.v3.ExternalProcessor}: one {@link ExtProcStream} per gRPC stream, i.e. per HTTP
 * request the gateway forwards. Beyond {@code --max-concurrent-streams} open streams a new stream holds nothing:
 * its first message is answered with 429.
 */
public final class ExtProcService extends ExternalProcessorGrpc.ExternalProcessorImplBase {

    private final ExtProcConfig config;
    private final Set<ExtProcStream> open = ConcurrentHashMap.newKeySet();

    public ExtProcService(ExtProcConfig config) {
        this.config = config;
    }

    @Override
    public StreamObserver<ProcessingRequest> process(StreamObserver<ProcessingResponse> responseObserver) {
        StreamLimits limits = config.limits();
        boolean admitted = limits.tryOpenStream();
        ExtProcStream stream = new ExtProcStream(config,
                (ServerCallStreamObserver<ProcessingResponse>) responseObserver, s -> {
                    if (open.remove(s) && admitted) {
                        limits.closeStream();
                    }
                }, admitted ? null : limits.streamsExhausted());
        open.add(stream);
        return stream;
    }

    /** The director deciding this service's requests. */
    public io.epp4j.epp.director.Director director() {
        return config.director();
    }

    /** The limits every stream of this service shares. */
    public StreamLimits limits() {
        return config.limits();
    }

    /** Streams currently open (for shutdown logging and tests). */
    public int openStreams() {
        return open.size();
    }
}
