package io.epp4j.epp.extproc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.HeadersResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ImmediateResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.StreamedBodyResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.TrailersResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.director.ModelRewriter;
import io.epp4j.epp.director.Routed;
import io.epp4j.epp.request.ApiPaths;
import io.epp4j.epp.request.InvalidRequestException;
import io.epp4j.epp.request.ModelNames;
import io.epp4j.epp.request.OpenAiRequest;
import io.epp4j.epp.request.OpenAiRequestParser;
import io.epp4j.epp.request.SseUsageScanner;
import io.epp4j.epp.request.UsageParser;
import io.epp4j.spi.ApiType;
import io.epp4j.spi.ByteSlice;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One ext_proc stream, i.e. one HTTP request passing through the gateway. Answers are always sent in order
 * (headers, then body, then trailers, per direction). gRPC delivers this observer's callbacks one at a time, so
 * the state needs no locks; only the completion (which the cancel handler can also trigger) is guarded.
 *
 * <p>Request side, by the body mode in the first message's {@code protocol_config} (absent: FULL_DUPLEX_STREAMED,
 * what GAIE requires):
 * <ul>
 *   <li>FULL_DUPLEX_STREAMED: headers are stored, body chunks appended to one buffer; at the body's end the
 *       request is parsed and scheduled, the headers answer carries the pick, and the body follows as
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
 */
final class ExtProcStream implements StreamObserver<ProcessingRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(ExtProcStream.class);

    static final int MAX_CHUNK_BYTES = 62_000;
    private static final int MAX_PRESIZE_BYTES = 1 << 20;

    static final String DESTINATION = "x-gateway-destination-endpoint";
    static final String OBJECTIVE = "x-gateway-inference-objective";
    static final String FAIRNESS_ID = "x-gateway-inference-fairness-id";
    static final String MODEL_REWRITE = "x-gateway-model-name-rewrite";
    static final String REQUEST_ID = "x-request-id";
    static final String SUBSET_NAMESPACE = "envoy.lb.subset_hint";
    static final String SUBSET_KEY = "x-gateway-destination-endpoint-subset";
    static final String LB_NAMESPACE = "envoy.lb";
    static final String DEFAULT_FAIRNESS_ID = "default-flow";
    private static final List<String> CONTROL_HEADERS = List.of(OBJECTIVE, FAIRNESS_ID, MODEL_REWRITE);

    private final ExtProcConfig config;
    private final ServerCallStreamObserver<ProcessingResponse> out;
    private final Consumer<ExtProcStream> onClose;
    private final long startNanos;

    private boolean sawFirstMessage;
    private boolean observabilityMode;
    private boolean streamedBodyFirst;
    private int streamedChunks;
    private BodySendMode requestMode = BodySendMode.FULL_DUPLEX_STREAMED;
    private BodySendMode responseMode = BodySendMode.FULL_DUPLEX_STREAMED;
    private Metadata metadata = Metadata.getDefaultInstance();

    private final Map<String, String> headers = new HashMap<>();
    private boolean requestIdGenerated;
    private BodyBuffer requestBody;
    private boolean requestAnswered;

    private Routed routed;
    private boolean dispatched;
    private String incomingModel = "";
    private String targetModel = "";
    private boolean streamRequested;

    private boolean responseHeadersSeen;
    private boolean responseStreaming;
    private boolean responseSse;
    private BodyBuffer responseBody;
    private SseUsageScanner sseUsage;
    private ResponseUsage usage = ResponseUsage.NONE;
    private long responseBytes;
    private boolean responseComplete;

    private boolean closed;
    private final Object completionLock = new Object();
    private boolean completed;

    ExtProcStream(ExtProcConfig config, ServerCallStreamObserver<ProcessingResponse> out,
                  Consumer<ExtProcStream> onClose) {
        this.config = config;
        this.out = out;
        this.onClose = onClose;
        this.startNanos = config.nanoTicker().getAsLong();
        out.setOnCancelHandler(() -> complete(false));
    }

    @Override
    public void onNext(ProcessingRequest message) {
        if (closed) {
            return; // after an ImmediateResponse the gateway ignores us, and we ignore it
        }
        try {
            if (!sawFirstMessage) {
                sawFirstMessage = true;
                observabilityMode = message.getObservabilityMode(); // Envoy ignores answers then: send none
                if (message.hasProtocolConfig()) {
                    requestMode = effectiveMode(message.getProtocolConfig().getRequestBodyMode());
                    streamedBodyFirst = message.getProtocolConfig().getSendBodyWithoutWaitingForHeaderResponse();
                    responseMode = effectiveMode(message.getProtocolConfig().getResponseBodyMode());
                }
            }
            if (message.hasMetadataContext()) {
                metadata = message.getMetadataContext(); // GAIE: the latest message's metadata wins
            }
            switch (message.getRequestCase()) {
                case REQUEST_HEADERS -> onRequestHeaders(message.getRequestHeaders());
                case REQUEST_BODY -> onRequestBody(message.getRequestBody());
                case REQUEST_TRAILERS -> onRequestTrailers();
                case RESPONSE_HEADERS -> onResponseHeaders(message.getResponseHeaders());
                case RESPONSE_BODY -> onResponseBody(message.getResponseBody());
                case RESPONSE_TRAILERS -> onResponseTrailers();
                default -> LOG.debug("Ignoring an ext_proc message without a request");
            }
        } catch (InferenceError e) {
            fail(e);
        } catch (RuntimeException e) {
            fail(new InferenceError(InferenceError.Code.INTERNAL, "internal error: " + e, e));
        }
    }

    private static BodySendMode effectiveMode(BodySendMode mode) {
        return mode == BodySendMode.UNRECOGNIZED ? BodySendMode.FULL_DUPLEX_STREAMED : mode;
    }

    // ---------------------------------------------------------------- request side

    private void onRequestHeaders(HttpHeaders message) throws InferenceError {
        readHeaders(message.getHeaders(), headers);
        String requestId = headers.get(REQUEST_ID);
        if (requestId == null || requestId.isEmpty()) {
            headers.put(REQUEST_ID, config.requestIds().get());
            requestIdGenerated = true;
        }
        if (message.getEndOfStream()) {
            answerWithoutBody(true);
            return;
        }
        switch (requestMode) {
            case FULL_DUPLEX_STREAMED -> requestBody = new BodyBuffer(initialBodyCapacity());
            case BUFFERED, BUFFERED_PARTIAL -> {
                requestBody = new BodyBuffer(initialBodyCapacity());
                HeaderMutation.Builder mutation = HeaderMutation.newBuilder();
                removeControlHeaders(mutation);
                if (requestIdGenerated) {
                    mutation.addSetHeaders(header(REQUEST_ID, headers.get(REQUEST_ID)));
                }
                send(ProcessingResponse.newBuilder().setRequestHeaders(HeadersResponse.newBuilder()
                        .setResponse(CommonResponse.newBuilder().setHeaderMutation(mutation))).build());
            }
            case STREAMED -> {
                if (streamedBodyFirst) {
                    requestBody = new BodyBuffer(initialBodyCapacity()); // the body comes anyway: pick on it
                } else {
                    answerWithoutBody(false);
                }
            }
            default -> answerWithoutBody(false); // NONE
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
    private void answerWithoutBody(boolean headerOnly) throws InferenceError {
        Endpoint endpoint = config.director().pickAny(subsetHint());
        String destination = endpoint.hostPort();
        HeaderMutation.Builder mutation = HeaderMutation.newBuilder().addSetHeaders(header(DESTINATION, destination));
        if (requestIdGenerated) {
            mutation.addSetHeaders(header(REQUEST_ID, headers.get(REQUEST_ID)));
        }
        removeControlHeaders(mutation);
        send(ProcessingResponse.newBuilder()
                .setRequestHeaders(HeadersResponse.newBuilder().setResponse(CommonResponse.newBuilder()
                        .setClearRouteCache(true).setHeaderMutation(mutation)))
                .setDynamicMetadata(destinationMetadata(destination)).build());
        requestAnswered = true;
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} {} {} without body scheduled to {}", headers.get(REQUEST_ID), headers.get(":method"),
                    headers.get(":path"), destination);
        }
        if (!headerOnly) {
            requestBody = null;
        }
    }

    private void onRequestBody(HttpBody body) throws InferenceError {
        if (requestAnswered && requestBody == null) {
            // STREAMED / NONE: the pick is made; pass each chunk on unchanged
            if (!isFullDuplex(requestMode)) {
                send(ProcessingResponse.newBuilder().setRequestBody(BodyResponse.newBuilder()
                        .setResponse(CommonResponse.getDefaultInstance())).build());
            }
            return;
        }
        if (requestBody == null) {
            requestBody = new BodyBuffer(8 * 1024); // body without a headers message: be lenient
        }
        if ((long) requestBody.size() + body.getBody().size() > config.maxRequestBodyBytes()) {
            throw new InferenceError(InferenceError.Code.PAYLOAD_TOO_LARGE, "request body exceeds "
                    + config.maxRequestBodyBytes() + " bytes");
        }
        requestBody.append(body.getBody());
        streamedChunks++;
        boolean buffered = requestMode == BodySendMode.BUFFERED || requestMode == BodySendMode.BUFFERED_PARTIAL;
        if (body.getEndOfStream() || buffered) {
            finishRequest(false);
        }
    }

    private void onRequestTrailers() throws InferenceError {
        if (!requestAnswered && requestBody != null && isFullDuplex(requestMode)) {
            finishRequest(true); // the body ended with trailers instead of end_of_stream
        }
        send(ProcessingResponse.newBuilder().setRequestTrailers(TrailersResponse.getDefaultInstance()).build());
    }

    private void finishRequest(boolean trailersFollow) throws InferenceError {
        byte[] body = requestBody.array();
        int length = requestBody.size();
        ApiType api = ApiPaths.fromHeaders(headers);
        OpenAiRequest parsed;
        try {
            parsed = OpenAiRequestParser.parse(api, body, length);
        } catch (InvalidRequestException e) {
            throw new InferenceError(InferenceError.Code.BAD_REQUEST, e.getMessage());
        }
        incomingModel = parsed.model();
        streamRequested = parsed.stream();
        String fairness = headers.get(FAIRNESS_ID);
        ModelRewriter.Choice choice = config.director().targetModel(incomingModel, headers.get(MODEL_REWRITE));
        targetModel = choice.targetModel();
        if (choice.rewriteName() != null) {
            config.metrics().modelRewritten(choice.rewriteName(), incomingModel, targetModel);
        }
        InferenceRequest request = new InferenceRequest(headers.get(REQUEST_ID), api, incomingModel, targetModel,
                parsed.prompt(), parsed.cacheSalt(), parsed.stream(),
                config.director().priorityOf(headers.get(OBJECTIVE)),
                fairness == null || fairness.isEmpty() ? DEFAULT_FAIRNESS_ID : fairness, headers, length);
        routed = config.director().route(request, subsetHint());

        byte[] upstreamBody = body;
        int upstreamLength = length;
        boolean rewritten = !targetModel.equals(incomingModel);
        if (rewritten) {
            upstreamBody = ModelNames.spliceModel(body, length, parsed.modelStart(), parsed.modelEnd(), targetModel);
            upstreamLength = upstreamBody.length;
        }
        String destination = destinationValue();
        HeaderMutation.Builder mutation = HeaderMutation.newBuilder().addSetHeaders(header(DESTINATION, destination));
        if (upstreamLength > 0) {
            mutation.addSetHeaders(header("content-length", Integer.toString(upstreamLength)));
        }
        if (requestIdGenerated) {
            mutation.addSetHeaders(header(REQUEST_ID, headers.get(REQUEST_ID)));
        }
        removeControlHeaders(mutation);
        CommonResponse.Builder common = CommonResponse.newBuilder().setClearRouteCache(true)
                .setHeaderMutation(mutation);
        Struct dynamicMetadata = destinationMetadata(destination);
        if (isFullDuplex(requestMode)) {
            send(ProcessingResponse.newBuilder()
                    .setRequestHeaders(HeadersResponse.newBuilder().setResponse(common))
                    .setDynamicMetadata(dynamicMetadata).build());
            sendStreamedBody(upstreamBody, upstreamLength, !trailersFollow, true);
        } else if (requestMode == BodySendMode.STREAMED) {
            // Envoy held every chunk for its own answer: the pick goes in the (late) headers answer, then one
            // answer per chunk; a rewritten body replaces the first chunk and clears the others
            send(ProcessingResponse.newBuilder()
                    .setRequestHeaders(HeadersResponse.newBuilder().setResponse(common))
                    .setDynamicMetadata(dynamicMetadata).build());
            for (int i = 0; i < streamedChunks; i++) {
                CommonResponse.Builder chunkAnswer = CommonResponse.newBuilder();
                if (rewritten) {
                    chunkAnswer.setBodyMutation(i == 0
                            ? BodyMutation.newBuilder().setBody(
                                    UnsafeByteOperations.unsafeWrap(upstreamBody, 0, upstreamLength)).build()
                            : BodyMutation.newBuilder().setClearBody(true).build());
                }
                send(ProcessingResponse.newBuilder().setRequestBody(BodyResponse.newBuilder()
                        .setResponse(chunkAnswer)).build());
            }
        } else {
            if (rewritten) {
                common.setBodyMutation(BodyMutation.newBuilder()
                        .setBody(UnsafeByteOperations.unsafeWrap(upstreamBody, 0, upstreamLength)));
            }
            send(ProcessingResponse.newBuilder().setRequestBody(BodyResponse.newBuilder().setResponse(common))
                    .setDynamicMetadata(dynamicMetadata).build());
        }
        requestAnswered = true;
        requestBody = null; // the echoed bytes are owned by the sent messages now
        config.metrics().requestDispatched(incomingModel, targetModel, request.priority(), length);
        dispatched = true;
        config.director().picked(routed);
        if (LOG.isDebugEnabled()) {
            LOG.debug("Request {} model {} (target {}) {} bytes scheduled to {}", request.requestId(), incomingModel,
                    targetModel, length, destination);
        }
    }

    private String destinationValue() {
        if (!config.destinationFallbacks() || routed.result().targets().size() == 1) {
            return routed.primary().hostPort();
        }
        StringBuilder sb = new StringBuilder();
        for (Endpoint e : routed.result().targets()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e.hostPort());
        }
        return sb.toString();
    }

    private List<String> subsetHint() {
        Struct namespace = metadata.getFilterMetadataMap().get(SUBSET_NAMESPACE);
        if (namespace == null) {
            return null;
        }
        Value value = namespace.getFieldsMap().get(SUBSET_KEY);
        if (value == null || value.getKindCase() != Value.KindCase.LIST_VALUE) {
            return null; // GAIE treats a non-list like an absent key
        }
        List<String> out = new ArrayList<>();
        for (Value v : value.getListValue().getValuesList()) {
            if (v.getKindCase() == Value.KindCase.STRING_VALUE) {
                out.add(v.getStringValue());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- response side

    private void onResponseHeaders(HttpHeaders message) {
        responseHeadersSeen = true;
        Map<String, String> responseHeaders = new HashMap<>();
        readHeaders(message.getHeaders(), responseHeaders);
        String contentType = responseHeaders.getOrDefault("content-type", "");
        responseSse = contentType.toLowerCase(Locale.ROOT).contains("text/event-stream");
        responseStreaming = responseSse || streamRequested;
        if (responseSse) {
            sseUsage = new SseUsageScanner();
        }
        HeaderMutation.Builder mutation = HeaderMutation.newBuilder()
                .addSetHeaders(header("x-went-into-resp-headers", "true"));
        if (routed != null) {
            try {
                // plugins may add response headers (conformance served-endpoint verifier, session affinity)
                config.director().scheduler().responseHeaderMutations(routed.request(), routed.primary(),
                        responseHeaders, lbMetadata()).forEach((k, v) -> mutation.addSetHeaders(header(k, v)));
            } catch (RuntimeException e) {
                LOG.warn("Scheduler onResponseHeaders failed for request {}", headers.get(REQUEST_ID), e);
            }
        }
        send(ProcessingResponse.newBuilder().setResponseHeaders(HeadersResponse.newBuilder()
                .setResponse(CommonResponse.newBuilder().setHeaderMutation(mutation))).build());
        if (message.getEndOfStream()) {
            responseComplete = true;
            complete(true);
        }
    }

    /** The latest {@code envoy.lb} metadata as strings (e.g. x-gateway-destination-endpoint-served), or null. */
    private Map<String, String> lbMetadata() {
        Struct namespace = metadata.getFilterMetadataMap().get(LB_NAMESPACE);
        if (namespace == null) {
            return null;
        }
        Map<String, String> out = new HashMap<>();
        namespace.getFieldsMap().forEach((k, v) -> {
            if (v.hasStringValue()) {
                out.put(k, v.getStringValue());
            }
        });
        return out;
    }

    private void onResponseBody(HttpBody message) {
        ByteString chunk = message.getBody();
        boolean eos = message.getEndOfStream();
        responseBytes += chunk.size();
        boolean rewriteBack = !targetModel.equals(incomingModel);
        if (!isFullDuplex(responseMode)) {
            // BUFFERED / STREAMED response modes: answer each message, replacing the body only when rewritten
            byte[] bytes = chunk.toByteArray();
            observeUsage(bytes, 0, bytes.length, eos || responseMode != BodySendMode.STREAMED);
            notifyBody(bytes, 0, bytes.length, eos);
            CommonResponse.Builder common = CommonResponse.newBuilder();
            byte[] replaced = rewriteBack ? ModelNames.rewriteResponse(bytes, 0, bytes.length, targetModel,
                    incomingModel) : null;
            if (replaced != null) {
                common.setBodyMutation(BodyMutation.newBuilder().setBody(UnsafeByteOperations.unsafeWrap(replaced)));
            }
            send(ProcessingResponse.newBuilder().setResponseBody(BodyResponse.newBuilder().setResponse(common))
                    .build());
        } else if (responseStreaming) {
            byte[] bytes = chunk.toByteArray();
            observeUsage(bytes, 0, bytes.length, false);
            notifyBody(bytes, 0, bytes.length, eos);
            byte[] replaced = rewriteBack ? ModelNames.rewriteResponse(bytes, 0, bytes.length, targetModel,
                    incomingModel) : null;
            if (replaced != null) {
                sendStreamedBody(replaced, replaced.length, eos, false);
            } else if (chunk.size() <= MAX_CHUNK_BYTES) {
                sendStreamedChunk(chunk, eos, false); // the common case: forward the received bytes as they are
            } else {
                sendStreamedBody(bytes, bytes.length, eos, false);
            }
        } else {
            if (responseBody == null) {
                responseBody = new BodyBuffer(Math.max(1024, chunk.size()));
            }
            responseBody.append(chunk);
            if (eos) {
                flushBufferedResponse(true);
            }
        }
        if (eos) {
            if (sseUsage != null) {
                sseUsage.finish();
                if (sseUsage.usage() != null) {
                    usage = sseUsage.usage();
                }
            }
            responseComplete = true;
            complete(true);
        }
    }

    private void flushBufferedResponse(boolean endOfStream) {
        byte[] bytes = responseBody == null ? new byte[0] : responseBody.array();
        int length = responseBody == null ? 0 : responseBody.size();
        observeUsage(bytes, 0, length, true);
        notifyBody(bytes, 0, length, true);
        byte[] replaced = !targetModel.equals(incomingModel)
                ? ModelNames.rewriteResponse(bytes, 0, length, targetModel, incomingModel) : null;
        if (replaced != null) {
            sendStreamedBody(replaced, replaced.length, endOfStream, false);
        } else {
            sendStreamedBody(bytes, length, endOfStream, false);
        }
        responseBody = null;
    }

    private void observeUsage(byte[] bytes, int offset, int length, boolean wholeJson) {
        if (length == 0) {
            return;
        }
        if (sseUsage != null) {
            sseUsage.feed(bytes, offset, length);
            if (sseUsage.usage() != null) {
                usage = sseUsage.usage();
            }
        } else if (wholeJson) {
            ResponseUsage found = UsageParser.parse(bytes, offset, length);
            if (found != null) {
                usage = found;
            }
        }
    }

    private void notifyBody(byte[] bytes, int offset, int length, boolean eos) {
        if (routed == null) {
            return;
        }
        try {
            config.director().scheduler().onResponseBody(routed.request(), routed.primary(),
                    new ByteSlice(bytes, offset, length), eos);
        } catch (RuntimeException e) {
            LOG.warn("Scheduler onResponseBody failed for request {}", headers.get(REQUEST_ID), e);
        }
    }

    private void onResponseTrailers() {
        if (isFullDuplex(responseMode) && !responseStreaming && responseBody != null) {
            flushBufferedResponse(false); // the body ended with trailers: send it without end_of_stream
        }
        send(ProcessingResponse.newBuilder().setResponseTrailers(TrailersResponse.getDefaultInstance()).build());
        responseComplete = true;
        complete(true);
    }

    // ---------------------------------------------------------------- stream end

    @Override
    public void onError(Throwable t) {
        // the gateway cancelled or the connection broke: release what the request holds
        if (!(t instanceof io.grpc.StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.CANCELLED)
                && LOG.isDebugEnabled()) {
            LOG.debug("ext_proc stream for request {} ended with {}", headers.get(REQUEST_ID), t.toString());
        }
        closed = true;
        complete(false);
    }

    @Override
    public void onCompleted() {
        complete(responseComplete);
        if (!closed) {
            closed = true;
            if (!out.isCancelled()) {
                out.onCompleted();
            }
        }
    }

    private void fail(InferenceError error) {
        config.metrics().requestFailed(incomingModel, targetModel, error.code().gaieName());
        if (error.code() == InferenceError.Code.INTERNAL) {
            LOG.error("Request {} failed: {}", headers.get(REQUEST_ID), error.responseBody(), error.getCause());
        } else if (error.code() == InferenceError.Code.RESOURCE_EXHAUSTED) {
            // shedding is expected under overload and counted in inference_objective_request_error_total
            LOG.debug("Request {} shed: {}", headers.get(REQUEST_ID), error.responseBody());
        } else {
            LOG.info("Request {} answered with {}: {}", headers.get(REQUEST_ID), error.code().httpStatus(),
                    error.responseBody());
        }
        send(ProcessingResponse.newBuilder().setImmediateResponse(ImmediateResponse.newBuilder()
                .setStatus(HttpStatus.newBuilder().setCodeValue(error.code().httpStatus()))
                .setBody(ByteString.copyFromUtf8(error.responseBody()))).build());
        closed = true;
        requestBody = null;
        responseBody = null;
        complete(false);
        if (!out.isCancelled()) {
            out.onCompleted();
        }
    }

    /** Ends the exchange once: in-flight slot, scheduler completion, metrics. */
    private void complete(boolean success) {
        synchronized (completionLock) {
            if (completed) {
                return;
            }
            completed = true;
        }
        try {
            if (routed != null && config.director().complete(routed, usage, success) && dispatched) {
                double seconds = (config.nanoTicker().getAsLong() - startNanos) / 1e9;
                config.metrics().requestCompleted(incomingModel, targetModel, seconds, responseBytes, usage,
                        success && responseHeadersSeen);
            }
        } finally {
            onClose.accept(this);
        }
    }

    // ---------------------------------------------------------------- messages

    private void sendStreamedBody(byte[] body, int length, boolean endOfStream, boolean request) {
        if (length == 0) {
            if (endOfStream) {
                sendStreamedChunk(ByteString.EMPTY, true, request);
            }
            return;
        }
        for (int offset = 0; offset < length; offset += MAX_CHUNK_BYTES) {
            int n = Math.min(MAX_CHUNK_BYTES, length - offset);
            // the arrays are never written after this point, so the messages may share them
            sendStreamedChunk(UnsafeByteOperations.unsafeWrap(body, offset, n),
                    endOfStream && offset + n == length, request);
        }
    }

    private void sendStreamedChunk(ByteString chunk, boolean endOfStream, boolean request) {
        BodyResponse response = BodyResponse.newBuilder().setResponse(CommonResponse.newBuilder()
                .setBodyMutation(BodyMutation.newBuilder().setStreamedResponse(StreamedBodyResponse.newBuilder()
                        .setBody(chunk).setEndOfStream(endOfStream)))).build();
        ProcessingResponse.Builder message = ProcessingResponse.newBuilder();
        if (request) {
            message.setRequestBody(response);
        } else {
            message.setResponseBody(response);
        }
        send(message.build());
    }

    private void send(ProcessingResponse response) {
        if (out.isCancelled() || observabilityMode) {
            return;
        }
        out.onNext(response);
    }

    private static boolean isFullDuplex(BodySendMode mode) {
        return mode == BodySendMode.FULL_DUPLEX_STREAMED;
    }

    private void removeControlHeaders(HeaderMutation.Builder mutation) {
        for (String name : CONTROL_HEADERS) {
            if (headers.containsKey(name)) {
                mutation.addRemoveHeaders(name);
            }
        }
    }

    static HeaderValueOption header(String key, String value) {
        return HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(key)
                        .setRawValue(ByteString.copyFrom(value, StandardCharsets.UTF_8)))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                .build();
    }

    static Struct destinationMetadata(String destination) {
        return Struct.newBuilder().putFields(LB_NAMESPACE, Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields(DESTINATION, Value.newBuilder().setStringValue(destination).build())).build()).build();
    }

    /** Header values come in raw_value (Envoy) or value (agentgateway's pseudo-headers): whichever is set. */
    static void readHeaders(HeaderMap map, Map<String, String> into) {
        for (HeaderValue h : map.getHeadersList()) {
            String value = h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
            into.put(h.getKey().toLowerCase(Locale.ROOT), value);
        }
    }
}
