package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;

/**
 * One body-based-routing stream, i.e. one HTTP request before route matching. The request's routing headers come
 * from its body, so the request side waits for the body as the body mode allows:
 * <ul>
 *   <li>FULL_DUPLEX_STREAMED (also when the gateway announces nothing): headers stored, chunks appended; at the
 *       body's end the headers answer carries the routing headers and {@code clear_route_cache}, then the body
 *       follows unchanged as {@code streamed_response} chunks, exactly one with end_of_stream.</li>
 *   <li>BUFFERED / BUFFERED_PARTIAL: the headers continue at once; the body message is answered with the routing
 *       headers and {@code clear_route_cache}, and no body mutation (Envoy forwards its own copy).</li>
 *   <li>STREAMED / NONE: Envoy wants the headers answered before it sends the body, so nothing can be routed:
 *       everything continues unchanged.</li>
 * </ul>
 * A body over the size limit goes through unread (what was held is echoed, the rest passed on chunk by chunk), and
 * the router's headers are removed from every request it sets none on, so a client cannot pick its own route.
 * The response side passes through unchanged. The stream reads one message at a time, the next once the gateway
 * has taken the last one's answers (see {@link Answers}).
 */
final class BodyRoutingStream implements StreamObserver<ProcessingRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(BodyRoutingStream.class);

    private final BodyRouter router;
    private final long maxBodyBytes;
    private final Answers answers;
    private BodySendMode requestMode = BodySendMode.FULL_DUPLEX_STREAMED;
    private BodySendMode responseMode = BodySendMode.FULL_DUPLEX_STREAMED;
    private boolean sawFirstMessage;
    private Map<String, String> headers = Map.of();
    private BodyBuffer body;
    /** Set once the routing headers are answered: later body chunks only pass through. */
    private boolean routed;

    BodyRoutingStream(BodyRouter router, long maxBodyBytes, ServerCallStreamObserver<ProcessingResponse> out) {
        this.router = router;
        this.maxBodyBytes = maxBodyBytes;
        this.answers = new Answers(out, null, () -> { });
    }

    @Override
    public void onNext(ProcessingRequest message) {
        try {
            handle(message);
        } finally {
            answers.readNext(); // once the gateway has taken this message's answers
        }
    }

    private void handle(ProcessingRequest message) {
        if (!sawFirstMessage) {
            sawFirstMessage = true;
            answers.observabilityMode(message.getObservabilityMode());
            if (message.hasProtocolConfig()) {
                requestMode = known(message.getProtocolConfig().getRequestBodyMode());
                responseMode = known(message.getProtocolConfig().getResponseBodyMode());
            }
        }
        switch (message.getRequestCase()) {
            case REQUEST_HEADERS -> onHeaders(message.getRequestHeaders().getHeaders(),
                    message.getRequestHeaders().getEndOfStream());
            case REQUEST_BODY -> onBody(message.getRequestBody());
            case REQUEST_TRAILERS -> {
                if (!routed && body != null && requestMode == BodySendMode.FULL_DUPLEX_STREAMED) {
                    route(true); // the body ended with trailers instead of end_of_stream
                }
                answers.send(Mutations.trailers(true));
            }
            case RESPONSE_HEADERS -> answers.send(Mutations.headersContinue(HeaderMutation.newBuilder(), false));
            case RESPONSE_BODY -> {
                HttpBody chunk = message.getResponseBody();
                answers.send(responseMode == BodySendMode.FULL_DUPLEX_STREAMED
                        ? Mutations.streamedChunk(chunk.getBody(), chunk.getEndOfStream(), false)
                        : Mutations.body(CommonResponse.newBuilder(), false));
            }
            case RESPONSE_TRAILERS -> answers.send(Mutations.trailers(false));
            default -> LOG.debug("Ignoring an ext_proc message without a request");
        }
    }

    private static BodySendMode known(BodySendMode mode) {
        return mode == BodySendMode.UNRECOGNIZED ? BodySendMode.FULL_DUPLEX_STREAMED : mode;
    }

    private void onHeaders(io.envoyproxy.envoy.config.core.v3.HeaderMap map, boolean endOfStream) {
        headers = Mutations.readHeaders(map);
        if (endOfStream) {
            answerHeaders(Map.of()); // no body to route on
            return;
        }
        switch (requestMode) {
            case FULL_DUPLEX_STREAMED -> body = new BodyBuffer(8 * 1024);
            case BUFFERED, BUFFERED_PARTIAL -> {
                body = new BodyBuffer(0);
                answers.send(Mutations.headersContinue(mutation(Map.of()), true));
            }
            default -> answerHeaders(Map.of()); // STREAMED, NONE: the body comes only after this answer
        }
    }

    private void onBody(HttpBody chunk) {
        if (routed || body == null) {
            // passing through: after the routing answer, over the size limit, or a mode that cannot route
            if (requestMode == BodySendMode.FULL_DUPLEX_STREAMED) {
                answers.send(Mutations.streamedChunk(chunk.getBody(), chunk.getEndOfStream(), true));
            } else {
                answers.send(Mutations.body(CommonResponse.newBuilder(), true));
            }
            return;
        }
        if ((long) body.size() + chunk.getBody().size() > maxBodyBytes) {
            router.tooLarge();
            if (requestMode == BodySendMode.FULL_DUPLEX_STREAMED) {
                answerHeaders(Map.of());
                answers.streamedBody(body.array(), body.size(), false, true);
                answers.send(Mutations.streamedChunk(chunk.getBody(), chunk.getEndOfStream(), true));
            } else {
                answers.send(Mutations.body(CommonResponse.newBuilder().setHeaderMutation(mutation(Map.of())),
                        true));
                routed = true;
            }
            body = null;
            return;
        }
        body.append(chunk.getBody());
        if (chunk.getEndOfStream() || requestMode != BodySendMode.FULL_DUPLEX_STREAMED) {
            route(false); // in the buffered modes the one body message is all Envoy sends
        }
    }

    private void route(boolean trailersFollow) {
        Map<String, String> set;
        try {
            set = router.route(headers, body.array(), body.size());
        } catch (RuntimeException e) {
            LOG.error("Body-based routing failed; the request continues without routing headers", e);
            set = Map.of();
        }
        if (requestMode == BodySendMode.FULL_DUPLEX_STREAMED) {
            answerHeaders(set);
            // the held array is never written again, so the echoed chunks may share it
            answers.streamedBody(body.array(), body.size(), !trailersFollow, true);
        } else {
            answers.send(Mutations.body(CommonResponse.newBuilder().setClearRouteCache(true)
                    .setHeaderMutation(mutation(set)), true));
        }
        routed = true;
        body = null;
    }

    /** The request-headers answer: the routing headers, and clear_route_cache when anything changed. */
    private void answerHeaders(Map<String, String> set) {
        HeaderMutation.Builder mutation = mutation(set);
        boolean changed = mutation.getSetHeadersCount() > 0 || mutation.getRemoveHeadersCount() > 0;
        answers.send(ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.newBuilder()
                .setResponse(CommonResponse.newBuilder().setClearRouteCache(changed).setHeaderMutation(mutation)))
                .build());
        routed = true;
    }

    /** Sets {@code set}; removes the router's other headers when the client sent them. */
    private HeaderMutation.Builder mutation(Map<String, String> set) {
        HeaderMutation.Builder m = HeaderMutation.newBuilder();
        set.forEach((name, value) -> m.addSetHeaders(Mutations.header(name, value)));
        for (String name : router.headerNames()) {
            if (!set.containsKey(name) && headers.containsKey(name)) {
                m.addRemoveHeaders(name);
            }
        }
        return m;
    }

    @Override
    public void onError(Throwable t) {
        body = null; // the gateway cancelled or the connection broke
    }

    @Override
    public void onCompleted() {
        answers.close();
    }
}
