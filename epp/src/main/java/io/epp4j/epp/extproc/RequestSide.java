package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.epp4j.epp.director.Admission;
import io.epp4j.epp.director.Arrival;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.models.ModelsEndpoint;
import io.epp4j.epp.request.ApiPaths;
import io.epp4j.epp.request.InvalidRequestException;
import io.epp4j.epp.request.ModelNames;
import io.epp4j.epp.request.ParsedRequest;
import io.epp4j.epp.request.RequestParsers;
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
 * The request's {@link io.epp4j.epp.request.RequestParser parser} is chosen by its path when its headers arrive
 * (none: 400). A parser that does not read the body ({@code passthrough-parser}) has the request decided right
 * there, in every mode: the headers answer carries the pick, and the body streams through unbuffered (echoed chunk
 * by chunk in FULL_DUPLEX_STREAMED, CONTINUE otherwise). A request without a body is answered with a random
 * candidate, or, for {@code GET /v1/models} when the EPP serves it, with the pool's merged model list.
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
    private RequestParsers.Entry parser;
    /** The pick was made at the headers and the body streams through unread. */
    private boolean bodyUnread;
    /** The EPP answered the request itself (an immediate response that is not an error). */
    private boolean answeredByEpp;
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
            // a parser that reads no body decides at the headers: hand off only when deciding may block
            case REQUEST_HEADERS -> !message.getRequestHeaders().getEndOfStream() && config.director().mayBlock()
                    && readsNoBody(Mutations.readHeaders(message.getRequestHeaders().getHeaders())) ? 0 : -1;
            case REQUEST_BODY -> message.getRequestBody().getEndOfStream() || isBuffered()
                    ? held + message.getRequestBody().getBody().size() : -1;
            case REQUEST_TRAILERS -> body != null && mode == BodySendMode.FULL_DUPLEX_STREAMED ? held : -1;
            default -> -1;
        };
    }

    /** Whether the EPP answered the request itself with an immediate response (not an error): the stream ends. */
    boolean answeredByEpp() {
        return answeredByEpp;
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
        config.limits().checkHeaders(message.getHeaders().getHeadersCount(),
                RequestHeaders.bytes(message.getHeaders()));
        headers = RequestHeaders.read(message.getHeaders(), config.requestIds());
        trace = config.tracing().start(headers.values(), headers.requestId(), receivedNanos);
        if (message.getEndOfStream()) {
            if (!answerModels()) {
                answerWithoutBody();
            }
            return;
        }
        parser = config.director().parsers().resolve(headers.values());
        if (parser == null) {
            throw new InferenceError(InferenceError.Code.BAD_REQUEST,
                    "no parser registered matching path suffix for: " + ApiPaths.path(headers.values()));
        }
        if (!parser.parser().readsBody()) {
            bodyUnread = true;
            long parseStart = config.nanoTicker().getAsLong();
            ParsedRequest parsed;
            try {
                parsed = parser.parser().parse(headers.values(), null, 0);
            } catch (InvalidRequestException e) {
                throw new InferenceError(InferenceError.Code.BAD_REQUEST, e.getMessage());
            }
            decide(parsed, null, 0, false, parseStart);
            return;
        }
        switch (mode) {
            case FULL_DUPLEX_STREAMED -> body = newBody(initialBodyCapacity());
            case BUFFERED, BUFFERED_PARTIAL -> {
                body = newBody(initialBodyCapacity());
                answers.send(Mutations.headersContinue(headers.mutation(), true));
            }
            case STREAMED -> {
                if (bodyBeforeHeadersAnswer) {
                    body = newBody(initialBodyCapacity()); // the body comes anyway: pick on it
                } else {
                    answerWithoutBody();
                }
            }
            default -> answerWithoutBody(); // NONE
        }
    }

    /** Whether the parser of a request with these headers decides it without its body. */
    private boolean readsNoBody(Map<String, String> values) {
        RequestParsers.Entry p = config.director().parsers().resolve(values);
        return p != null && !p.parser().readsBody();
    }

    /**
     * {@code GET /v1/models} when the EPP serves it: the pool's merged model list as an immediate response (or
     * 503 while no pod reported one). Returns false for every other request.
     */
    private boolean answerModels() throws InferenceError {
        ModelsEndpoint models = config.models();
        if (models == null || !models.matches(headers.get(":method"), ApiPaths.path(headers.values()))) {
            return false;
        }
        ModelsEndpoint.Answer a = models.answer();
        if (a.status() != 200) {
            throw new InferenceError(InferenceError.Code.SERVICE_UNAVAILABLE, a.body());
        }
        answers.send(Mutations.immediateJson(a.status(), a.body()));
        answered = true;
        answeredByEpp = true;
        return true;
    }

    private BodyBuffer newBody(int presize) {
        return new BodyBuffer(presize, headers == null ? -1 : headers.contentLength(),
                config.limits().requestBodies());
    }

    /** Gives the body's bytes back to the shared budget (at the answer, or when the stream ends first). */
    void release() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    private int initialBodyCapacity() {
        long n = headers.contentLength();
        if (n >= 0 && n <= config.maxRequestBodyBytes()) {
            // trust the header for sizing only up to a point: a false one must not pin memory
            return (int) Math.min(n, MAX_PRESIZE_BYTES);
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
        release();
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} {} {} without body scheduled to {}", headers.requestId(), headers.get(":method"),
                    headers.get(":path"), destination);
        }
    }

    /** @param arrivedNanos when the message arrived (the decision it triggers waited from then) */
    void onBody(HttpBody message, long arrivedNanos) throws InferenceError {
        if (answered && body == null) {
            // the pick is made (STREAMED / NONE, or a body not read): pass each chunk on unchanged
            if (mode != BodySendMode.FULL_DUPLEX_STREAMED) {
                answers.send(Mutations.body(CommonResponse.newBuilder(), true));
            } else if (bodyUnread) {
                if (message.getBody().size() <= Mutations.MAX_CHUNK_BYTES) {
                    answers.send(Mutations.streamedChunk(message.getBody(), message.getEndOfStream(), true));
                } else {
                    byte[] chunk = message.getBody().toByteArray();
                    answers.streamedBody(chunk, chunk.length, message.getEndOfStream(), true);
                }
            }
            return;
        }
        if (body == null) {
            body = newBody(8 * 1024); // body without a headers message: be lenient
            headers = RequestHeaders.none(config.requestIds());
            parser = config.director().parsers().resolve(headers.values());
            if (parser == null || !parser.parser().readsBody()) {
                throw new InferenceError(InferenceError.Code.BAD_REQUEST,
                        "no parser registered for a request body without headers");
            }
        }
        if ((long) body.size() + message.getBody().size() > config.maxRequestBodyBytes()) {
            throw new InferenceError(InferenceError.Code.PAYLOAD_TOO_LARGE, "request body exceeds "
                    + config.maxRequestBodyBytes() + " bytes");
        }
        if (!body.tryAppend(message.getBody())) {
            throw config.limits().bodyBudgetExhausted();
        }
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

    /** Parses the body with the request's parser, and decides the request. */
    private void decide(boolean trailersFollow, long arrivedNanos) throws InferenceError {
        long parseStart = config.nanoTicker().getAsLong();
        config.metrics().decisionWaited(Math.max(0, parseStart - arrivedNanos) / 1e9);
        byte[] bytes = body.array();
        int length = body.size();
        ParsedRequest parsed;
        try {
            parsed = parser.parser().parse(headers.values(), bytes, length);
        } catch (InvalidRequestException e) {
            throw new InferenceError(InferenceError.Code.BAD_REQUEST, e.getMessage());
        }
        decide(parsed, bytes, length, trailersFollow, parseStart);
    }

    /**
     * Has the director admit the parsed request; once admitted, {@link #answer} decides and answers. {@code bytes}
     * is null for a request decided at its headers, whose body is not read.
     */
    private void decide(ParsedRequest parsed, byte[] bytes, int length, boolean trailersFollow, long parseStart)
            throws InferenceError {
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
    private void answer(Admission admission, ParsedRequest parsed, byte[] bytes, int length, boolean trailersFollow)
            throws InferenceError {
        Exchange exchange = config.director().decide(admission);
        long answerStart = config.nanoTicker().getAsLong();
        decided.accept(exchange);

        if (bytes == null) {
            answerUnread(exchange);
            return;
        }
        byte[] upstream = bytes;
        int upstreamLength = length;
        boolean splice = exchange.modelRewritten() && parsed.modelInBody();
        if (splice) {
            upstream = ModelNames.spliceModel(bytes, length, parsed.modelStart(), parsed.modelEnd(),
                    exchange.request().targetModel());
            upstreamLength = upstream.length;
        }
        String destination = Mutations.destinationValue(exchange.result(), config.destinationFallbacks());
        Map<String, Double> scores = config.lbMetadataScores() ? exchange.scores() : Map.of();
        HeaderMutation.Builder mutation = PickAnswer.mutation(headers, destination, upstreamLength,
                exchange.upstreamHeaders(), trace);
        PickAnswer.send(answers, mode, mutation, destination, scores,
                new PickAnswer.Body(upstream, upstreamLength, splice), trailersFollow, heldChunks);
        answered = true;
        release(); // the echoed bytes are owned by the sent messages now
        trace.stage("answer", answerStart, config.nanoTicker().getAsLong());
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} model {} (target {}) {} bytes scheduled to {}", exchange.request().requestId(),
                    model, exchange.request().targetModel(), length, destination);
        }
    }

    /**
     * Answers a request decided at its headers: the pick in the headers answer, the client's own
     * {@code content-length} kept; the body follows unread ({@link #onBody}).
     */
    private void answerUnread(Exchange exchange) {
        String destination = Mutations.destinationValue(exchange.result(), config.destinationFallbacks());
        Map<String, Double> scores = config.lbMetadataScores() ? exchange.scores() : Map.of();
        HeaderMutation.Builder mutation = PickAnswer.mutation(headers, destination, 0, exchange.upstreamHeaders(),
                trace);
        answers.send(Mutations.pick(mutation, destination, scores));
        answered = true;
        body = null;
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} {} {} scheduled to {} without reading its body ({})", headers.requestId(),
                    headers.get(":method"), headers.get(":path"), destination, parser.name());
        }
    }
}
