package io.epp4j.epp.extproc;

import com.google.protobuf.UnsafeByteOperations;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.epp4j.epp.tracing.RequestTrace;
import io.epp4j.spi.UpstreamHeaders;

import java.util.Map;

/** The answers that carry a decided request's pick, and its body, to the gateway, as the body mode requires. */
final class PickAnswer {

    /** The body to send upstream: {@code bytes[0, length)}, and whether it differs from the client's. */
    record Body(byte[] bytes, int length, boolean rewritten) {
    }

    private PickAnswer() {
    }

    /**
     * The request headers' mutation that carries the pick: the destination, the body's new {@code content-length}
     * ({@code contentLength} ≤ 0: the client's is kept), the plugins' upstream headers (e.g. P/D's
     * {@code x-prefiller-host-port}, a client's copy removed) and, when traced, the trace's propagation headers so
     * the model server's spans continue the request's trace.
     */
    static HeaderMutation.Builder mutation(RequestHeaders headers, String destination, int contentLength,
                                           UpstreamHeaders hooks, RequestTrace trace) {
        HeaderMutation.Builder mutation = contentLength > 0
                ? headers.mutation(Mutations.header(Mutations.DESTINATION, destination),
                        Mutations.header("content-length", Integer.toString(contentLength)))
                : headers.mutation(Mutations.header(Mutations.DESTINATION, destination));
        if (!hooks.isEmpty()) {
            hooks.sets().forEach((k, v) -> mutation.addSetHeaders(Mutations.header(k, v)));
            mutation.addAllRemoveHeaders(hooks.removals());
        }
        if (trace.recording()) {
            trace.propagationHeaders().forEach((k, v) -> mutation.addSetHeaders(Mutations.header(k, v)));
        }
        return mutation;
    }

    /**
     * Sends the pick and the body: in FULL_DUPLEX_STREAMED the headers answer, then the body as streamed chunks
     * (the last with end_of_stream unless trailers follow); in STREAMED the late headers answer, then one answer per
     * chunk Envoy held ({@code heldChunks}), a rewritten body replacing the first and clearing the others; in the
     * buffered modes, whose headers were answered already, the pick on the body's answer.
     */
    static void send(Answers answers, BodySendMode mode, HeaderMutation.Builder mutation, String destination,
                     Map<String, Double> scores, Body body, boolean trailersFollow, int heldChunks) {
        switch (mode) {
            case FULL_DUPLEX_STREAMED -> {
                answers.send(Mutations.pick(mutation, destination, scores));
                answers.streamedBody(body.bytes(), body.length(), !trailersFollow, true);
            }
            case STREAMED -> {
                answers.send(Mutations.pick(mutation, destination, scores));
                for (int i = 0; i < heldChunks; i++) {
                    CommonResponse.Builder chunkAnswer = CommonResponse.newBuilder();
                    if (body.rewritten()) {
                        chunkAnswer.setBodyMutation(i == 0
                                ? BodyMutation.newBuilder().setBody(
                                        UnsafeByteOperations.unsafeWrap(body.bytes(), 0, body.length())).build()
                                : BodyMutation.newBuilder().setClearBody(true).build());
                    }
                    answers.send(Mutations.body(chunkAnswer, true));
                }
            }
            default -> {
                CommonResponse.Builder common = CommonResponse.newBuilder().setClearRouteCache(true)
                        .setHeaderMutation(mutation);
                if (body.rewritten()) {
                    common.setBodyMutation(BodyMutation.newBuilder()
                            .setBody(UnsafeByteOperations.unsafeWrap(body.bytes(), 0, body.length())));
                }
                answers.send(Mutations.body(common, true).toBuilder()
                        .setDynamicMetadata(Mutations.destinationMetadata(destination, scores)).build());
            }
        }
    }
}
