package io.epp4j.epp.extproc;

import com.google.protobuf.UnsafeByteOperations;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.epp.director.Admission;
import io.epp4j.epp.director.Arrival;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.request.ApiPaths;
import io.epp4j.epp.request.InvalidRequestException;
import io.epp4j.epp.request.ModelNames;
import io.epp4j.epp.request.OpenAiRequest;
import io.epp4j.epp.request.OpenAiRequestParser;
import io.epp4j.epp.tracing.RequestTrace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The request side of one stream: headers, body chunks and trailers, answered as the request body mode requires
 * (the first message's {@code protocol_config}; absent: FULL_DUPLEX_STREAMED, what GAIE requires).
 * <ul>
 *   <li>FULL_DUPLEX_STREAMED: headers are stored, body chunks appended to one buffer; at the body's end the
 *       request is parsed and decided, the headers answer carries the pick, and the body follows as
 *       {@code streamed_response} chunks of at most 62,000 bytes, exactly one with end_of_stream.</li>
 *   <li>BUFFERED / BUFFERED_PARTIAL: Envoy holds the body until the headers are answered, so the headers get an
 *       immediate CONTINUE (control headers removed) and the single body message gets the pick as a header
 *       mutation (applied by Envoy in buffered modes), plus the rewritten body when the model changed.</li>
 *   <li>STREAMED with {@code send_body_without_waiting_for_header_response}: the body comes anyway, so the
 *       headers answer waits for its end (like full duplex), then each held chunk is answered (CONTINUE, or the
 *       rewritten body in the first answer and clear_body in the others). Envoy's per-message timeout still runs
 *       in this mode, so slow uploads can time out.</li>
 *   <li>STREAMED (default) / NONE: Envoy waits for the headers answer before sending any body, so the pick
 *       cannot depend on it: a random candidate is chosen at once (as for a request without a body), and each
 *       body chunk is answered with CONTINUE. Prefer FULL_DUPLEX_STREAMED.</li>
 * </ul>
 * Used by one thread at a time (the stream's {@link StreamOrder}).
 */
final class RequestSide {

    private static final Logger LOG = LoggerFactory.getLogger(RequestSide.class);
    private static final int MAX_PRESIZE_BYTES = 1 << 20;

    private final ExtProcConfig config;
    private final Answers answers;
    private final Supplier<Metadata> metadata;
    private final Consumer<Exchange> decided;
    private final Waiting waiting;
    private final long receivedNanos;
    private BodySendMode mode = BodySendMode.FULL_DUPLEX_STREAMED;
    private boolean bodyBeforeHeadersAnswer;
    private RequestHeaders headers;
    private BodyBuffer body;
    private int heldChunks;
    private boolean answered;
    private String model = "";
    private RequestTrace trace = RequestTrace.NONE;

    /**
     * @param metadata the stream's latest metadata (the subset hint is read from it when the request is decided)
     * @param decided told the request's handle as soon as it is decided
     * @param waiting holds the stream while a request waits in a flow-control queue
     * @param receivedNanos when the stream opened
     */
    RequestSide(ExtProcConfig config, Answers answers, Supplier<Metadata> metadata, Consumer<Exchange> decided,
                Waiting waiting, long receivedNanos) {
        this.config = config;
        this.answers = answers;
        this.metadata = metadata;
        this.decided = decided;
        this.waiting = waiting;
        this.receivedNanos = receivedNanos;
    }

    /** A step of the stream's work that may answer the request with an error. */
    interface Step {
        void run() throws InferenceError;
    }

    /** Where a flow-controlled request waits: the stream runs {@code then} once the request leaves its queue. */
    interface Waiting {
        void await(Admission admission, Step then);
    }

    /** The body mode the gateway announced, and whether it sends a STREAMED body without waiting for our answer. */
    void mode(BodySendMode mode, boolean bodyBeforeHeadersAnswer) {
        this.mode = mode;
        this.bodyBeforeHeadersAnswer = bodyBeforeHeadersAnswer;
    }

    /** The model the body named, once parsed ("" before): a label of the error metric. */
    String model() {
        return model;
    }

    String requestId() {
        return headers == null ? null : headers.requestId();
    }

    /**
     * The size of the body {@code message} completes, so that handling it decides the request, or -1 when it does
     * not decide: the stream hands large decisions to a worker.
     */
    long decisionBytes(ProcessingRequest message) {
        if (answered) {
            return -1;
        }
        long held = body == null ? 0 : body.size();
        return switch (message.getRequestCase()) {
            case REQUEST_BODY -> message.getRequestBody().getEndOfStream() || isBuffered()
                    ? held + message.getRequestBody().getBody().size() : -1;
            case REQUEST_TRAILERS -> body != null && mode == BodySendMode.FULL_DUPLEX_STREAMED ? held : -1;
            default -> -1;
        };
    }

    /** The request's trace, once its headers arrived ({@link RequestTrace#NONE} before, or when not traced). */
    RequestTrace trace() {
        return trace;
    }

    void onHeaders(HttpHeaders message) throws InferenceError {
        if (headers != null) {
            // a second request would take a second in-flight slot that the stream's one end never gives back
            throw new InferenceError(InferenceError.Code.BAD_REQUEST,
                    "request headers sent twice on one ext_proc stream");
        }
        headers = RequestHeaders.read(message.getHeaders(), config.requestIds());
        trace = config.tracing().start(headers.values(), headers.requestId(), receivedNanos);
        if (message.getEndOfStream()) {
            answerWithoutBody();
            return;
        }
        switch (mode) {
            case FULL_DUPLEX_STREAMED -> body = new BodyBuffer(initialBodyCapacity());
            case BUFFERED, BUFFERED_PARTIAL -> {
                body = new BodyBuffer(initialBodyCapacity());
                answers.send(Mutations.headersContinue(headers.mutation(), true));
            }
            case STREAMED -> {
                if (bodyBeforeHeadersAnswer) {
                    body = new BodyBuffer(initialBodyCapacity()); // the body comes anyway: pick on it
                } else {
                    answerWithoutBody();
                }
            }
            default -> answerWithoutBody(); // NONE
        }
    }

    private int initialBodyCapacity() {
        String contentLength = headers.get("content-length");
        if (contentLength != null) {
            try {
                long n = Long.parseLong(contentLength.trim());
                if (n >= 0 && n <= config.maxRequestBodyBytes()) {
                    // trust the header for sizing only up to a point: a false one must not pin memory
                    return (int) Math.min(n, MAX_PRESIZE_BYTES);
                }
            } catch (NumberFormatException e) {
                // fall through to the default
            }
        }
        return 8 * 1024;
    }

    /** Header-only requests (and STREAMED mode): a random candidate, answered at once. */
    private void answerWithoutBody() throws InferenceError {
        Exchange exchange = config.director().pickAny(arrival());
        decided.accept(exchange);
        String destination = exchange.primary().hostPort();
        answers.send(Mutations.pick(headers.mutation(Mutations.header(Mutations.DESTINATION, destination)),
                destination));
        answered = true;
        body = null;
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} {} {} without body scheduled to {}", headers.requestId(), headers.get(":method"),
                    headers.get(":path"), destination);
        }
    }

    /** @param arrivedNanos when the message arrived (the decision it triggers waited from then) */
    void onBody(HttpBody message, long arrivedNanos) throws InferenceError {
        if (answered && body == null) {
            // STREAMED / NONE: the pick is made; pass each chunk on unchanged
            if (mode != BodySendMode.FULL_DUPLEX_STREAMED) {
                answers.send(Mutations.body(CommonResponse.newBuilder(), true));
            }
            return;
        }
        if (body == null) {
            body = new BodyBuffer(8 * 1024); // body without a headers message: be lenient
            headers = RequestHeaders.none(config.requestIds());
        }
        if ((long) body.size() + message.getBody().size() > config.maxRequestBodyBytes()) {
            throw new InferenceError(InferenceError.Code.PAYLOAD_TOO_LARGE, "request body exceeds "
                    + config.maxRequestBodyBytes() + " bytes");
        }
        body.append(message.getBody());
        heldChunks++;
        if (message.getEndOfStream() || isBuffered()) {
            decide(false, arrivedNanos);
        }
    }

    void onTrailers(long arrivedNanos) throws InferenceError {
        if (!answered && body != null && mode == BodySendMode.FULL_DUPLEX_STREAMED) {
            decide(true, arrivedNanos); // the body ended with trailers instead of end_of_stream
        }
        answers.send(Mutations.trailers(true));
    }

    private boolean isBuffered() {
        return mode == BodySendMode.BUFFERED || mode == BodySendMode.BUFFERED_PARTIAL;
    }

    private Arrival arrival() {
        return new Arrival(headers.values(), Mutations.subsetHint(metadata.get()), receivedNanos);
    }

    /** Parses the body and has the director admit it; once admitted, {@link #answer} decides and answers. */
    private void decide(boolean trailersFollow, long arrivedNanos) throws InferenceError {
        config.metrics().decisionWaited(Math.max(0, config.nanoTicker().getAsLong() - arrivedNanos) / 1e9);
        byte[] bytes = body.array();
        int length = body.size();
        OpenAiRequest parsed;
        long parseStart = config.nanoTicker().getAsLong();
        try {
            parsed = OpenAiRequestParser.parse(ApiPaths.fromHeaders(headers.values()), bytes, length);
        } catch (InvalidRequestException e) {
            throw new InferenceError(InferenceError.Code.BAD_REQUEST, e.getMessage());
        }
        model = parsed.model();
        long parseEnd = config.nanoTicker().getAsLong();
        trace.stage("parse", parseStart, parseEnd);
        Admission admission = config.director().admit(parsed, arrival(), parseEnd - parseStart, trace);
        if (admission.flowControlled()) {
            // the request may wait in a queue: the stream holds its later work, and no thread, until it leaves
            waiting.await(admission, () -> answer(admission, parsed, bytes, length, trailersFollow));
            return;
        }
        answer(admission, parsed, bytes, length, trailersFollow);
    }

    /** Has the director decide the admitted request, and answers with the pick and the (possibly rewritten) body. */
    private void answer(Admission admission, OpenAiRequest parsed, byte[] bytes, int length, boolean trailersFollow)
            throws InferenceError {
        Exchange exchange = config.director().decide(admission);
        long answerStart = config.nanoTicker().getAsLong();
        decided.accept(exchange);

        byte[] upstream = bytes;
        int upstreamLength = length;
        if (exchange.modelRewritten()) {
            upstream = ModelNames.spliceModel(bytes, length, parsed.modelStart(), parsed.modelEnd(),
                    exchange.request().targetModel());
            upstreamLength = upstream.length;
        }
        String destination = Mutations.destinationValue(exchange.result(), config.destinationFallbacks());
        Map<String, Double> scores = config.lbMetadataScores() ? exchange.scores() : Map.of();
        HeaderMutation.Builder mutation = upstreamLength > 0
                ? headers.mutation(Mutations.header(Mutations.DESTINATION, destination),
                        Mutations.header("content-length", Integer.toString(upstreamLength)))
                : headers.mutation(Mutations.header(Mutations.DESTINATION, destination));
        if (trace.recording()) {
            // the model server's spans continue this request's trace
            trace.propagationHeaders().forEach((k, v) -> mutation.addSetHeaders(Mutations.header(k, v)));
        }
        switch (mode) {
            case FULL_DUPLEX_STREAMED -> {
                answers.send(Mutations.pick(mutation, destination, scores));
                answers.streamedBody(upstream, upstreamLength, !trailersFollow, true);
            }
            case STREAMED -> {
                // Envoy held every chunk for its own answer: the pick goes in the (late) headers answer, then one
                // answer per chunk; a rewritten body replaces the first chunk and clears the others
                answers.send(Mutations.pick(mutation, destination, scores));
                for (int i = 0; i < heldChunks; i++) {
                    CommonResponse.Builder chunkAnswer = CommonResponse.newBuilder();
                    if (exchange.modelRewritten()) {
                        chunkAnswer.setBodyMutation(i == 0
                                ? BodyMutation.newBuilder().setBody(
                                        UnsafeByteOperations.unsafeWrap(upstream, 0, upstreamLength)).build()
                                : BodyMutation.newBuilder().setClearBody(true).build());
                    }
                    answers.send(Mutations.body(chunkAnswer, true));
                }
            }
            default -> {
                // BUFFERED: the headers were answered already; the pick rides on the body answer
                CommonResponse.Builder common = CommonResponse.newBuilder().setClearRouteCache(true)
                        .setHeaderMutation(mutation);
                if (exchange.modelRewritten()) {
                    common.setBodyMutation(BodyMutation.newBuilder()
                            .setBody(UnsafeByteOperations.unsafeWrap(upstream, 0, upstreamLength)));
                }
                answers.send(Mutations.body(common, true).toBuilder()
                        .setDynamicMetadata(Mutations.destinationMetadata(destination, scores)).build());
            }
        }
        answered = true;
        body = null; // the echoed bytes are owned by the sent messages now
        trace.stage("answer", answerStart, config.nanoTicker().getAsLong());
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} model {} (target {}) {} bytes scheduled to {}", exchange.request().requestId(),
                    model, exchange.request().targetModel(), length, destination);
        }
    }
}
