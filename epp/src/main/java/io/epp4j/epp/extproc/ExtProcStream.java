package io.epp4j.epp.extproc;

import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.director.Admission;
import io.epp4j.epp.director.Exchange;
import io.epp4j.epp.director.InferenceError;
import io.epp4j.epp.logging.EppLogging;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.util.function.Consumer;

/**
 * One ext_proc stream, i.e. one HTTP request passing through the gateway: reads the first message's protocol
 * config, keeps the latest metadata, and hands each message to the {@link RequestSide} or the {@link ResponseSide};
 * answers always go out in order (headers, then body, then trailers, per direction).
 *
 * <p>Messages are handled in order through a {@link StreamOrder}: on gRPC's transport thread (one reads every
 * stream of a gateway connection), except the heavy ones, which run on a worker of {@link DecisionThreads}: the
 * message that decides a request whose body is {@link DecisionThreads#HAND_OFF_BYTES} or more (parsing and hashing
 * grow with the body), every decision while the configuration has a plugin that blocks on I/O, and the end of a
 * held response of that size. So a large decision neither holds up the other streams of its connection nor waits
 * behind them, and the decisions of one connection use every core; a small one costs less than the hand-off would.
 * The next message is read only once the last one's work is done and the gateway has taken its answers
 * ({@link Answers#readNext}): a stream holds one message at a time, and a gateway that reads slowly slows only its
 * own streams. Whatever ends the stream (the response's end, an error answer, the gateway's half-close or cancel)
 * ends the request's {@link Exchange} exactly once, and gives the bodies it holds back to the shared body budget.
 */
final class ExtProcStream implements StreamObserver<ProcessingRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(ExtProcStream.class);
    /** Whether log lines are JSON, whose request lines carry the request id as a field (read once). */
    private static final boolean TAG_LOG_LINES = "json".equals(System.getProperty("epp4j.log.encoder"));

    private final ExtProcConfig config;
    private final Answers answers;
    private final Consumer<ExtProcStream> onClose;
    private final StreamOrder order = new StreamOrder();
    private final RequestSide request;
    private final ResponseSide response;
    /** The answer to the first message of a stream refused at open (too many streams), else null. */
    private final InferenceError refusal;

    private boolean sawFirstMessage;
    private Metadata metadata = Metadata.getDefaultInstance();
    private Exchange exchange;
    /** The request's place in a flow-control queue while it waits there (read by the gateway's cancel). */
    private volatile Admission waiting;
    private boolean closed;
    private boolean completed;

    ExtProcStream(ExtProcConfig config, ServerCallStreamObserver<ProcessingResponse> out,
                  Consumer<ExtProcStream> onClose, InferenceError refusal) {
        this.config = config;
        this.refusal = refusal;
        this.answers = new Answers(out, config.limits().answers(), () -> {
            leaveQueue();
            order.execute(() -> complete(false));
        });
        this.onClose = onClose;
        this.request = new RequestSide(config, answers, () -> metadata, this::decided, this::await,
                config.nanoTicker().getAsLong());
        this.response = new ResponseSide(answers, config.limits());
    }

    @Override
    public void onNext(ProcessingRequest message) {
        long arrivedNanos = config.nanoTicker().getAsLong();
        order.execute(() -> dispatch(message, arrivedNanos));
        order.execute(answers::readNext); // after the message's work, wherever it ran (or waited)
    }

    private void dispatch(ProcessingRequest message, long arrivedNanos) {
        if (closed) {
            return; // after an ImmediateResponse the gateway ignores us, and we ignore it
        }
        if (!sawFirstMessage) {
            sawFirstMessage = true;
            if (refusal != null) {
                fail(refusal); // nothing of the request is read or held
                return;
            }
            answers.observabilityMode(message.getObservabilityMode()); // Envoy ignores answers then: send none
            if (message.hasProtocolConfig()) {
                var protocol = message.getProtocolConfig();
                request.mode(effectiveMode(protocol.getRequestBodyMode()),
                        protocol.getSendBodyWithoutWaitingForHeaderResponse());
                response.mode(effectiveMode(protocol.getResponseBodyMode()));
            }
        }
        if (message.hasMetadataContext()) {
            metadata = message.getMetadataContext(); // GAIE: the latest message's metadata wins
        }
        long decision = request.decisionBytes(message);
        boolean blocking = decision >= 0 && config.director().mayBlock();
        if (blocking || Math.max(decision, response.flushBytes(message)) >= DecisionThreads.HAND_OFF_BYTES) {
            order.handOff(() -> handle(message, arrivedNanos), config.threads().executor(blocking));
        } else {
            handle(message, arrivedNanos);
        }
    }

    private static BodySendMode effectiveMode(BodySendMode mode) {
        return mode == BodySendMode.UNRECOGNIZED ? BodySendMode.FULL_DUPLEX_STREAMED : mode;
    }

    private void handle(ProcessingRequest message, long arrivedNanos) {
        run(() -> {
            switch (message.getRequestCase()) {
                case REQUEST_HEADERS -> request.onHeaders(message.getRequestHeaders());
                case REQUEST_BODY -> request.onBody(message.getRequestBody(), arrivedNanos);
                case REQUEST_TRAILERS -> request.onTrailers(arrivedNanos);
                case RESPONSE_HEADERS -> response.onHeaders(message.getResponseHeaders(), metadata);
                case RESPONSE_BODY -> response.onBody(message.getResponseBody());
                case RESPONSE_TRAILERS -> response.onTrailers();
                default -> LOG.debug("Ignoring an ext_proc message without a request");
            }
        });
    }

    /**
     * Holds the stream's later messages while {@code admission} waits in a flow-control queue; once it leaves (on
     * the dispatcher's thread, or the gateway's cancel), {@code then} runs where decisions run, then the held work.
     */
    private void await(Admission admission, RequestSide.Step then) {
        order.suspend();
        waiting = admission;
        Runnable step = () -> {
            waiting = null;
            if (!closed) {
                run(then);
            }
        };
        if (!admission.whenReady(() -> order.resume(step,
                config.threads().executor(config.director().mayBlock())))) {
            order.resume(step, null); // admitted at once: goes on here, right after the current step
        }
    }

    /** The gateway went away: a request waiting in a flow-control queue leaves it now, not when it is dispatched. */
    private void leaveQueue() {
        Admission w = waiting;
        if (w != null) {
            w.cancel();
        }
    }

    /** Runs a step of the stream's work; an error answers the request, a completed response ends it. */
    private void run(RequestSide.Step step) {
        String requestId = TAG_LOG_LINES ? request.requestId() : null;
        if (requestId != null) {
            MDC.put(EppLogging.REQUEST_ID, requestId); // JSON log lines carry it as x-request-id
        }
        try {
            step.run();
            if (request.answeredByEpp() && !closed) {
                // the gateway answers the client with the EPP's own response (GET /v1/models): the stream is done
                request.trace().end(config.nanoTicker().getAsLong(), "success", null);
                closed = true;
                complete(false);
                answers.close();
            } else if (response.complete()) {
                complete(true);
            }
        } catch (InferenceError e) {
            fail(e);
        } catch (RuntimeException e) {
            fail(new InferenceError(InferenceError.Code.INTERNAL, "internal error: " + e, e));
        } finally {
            if (completed) {
                // a message after the request ended (out of order) must not keep body bytes of the shared budget
                request.release();
                response.release();
            }
            if (requestId != null) {
                MDC.remove(EppLogging.REQUEST_ID);
            }
        }
    }

    private void decided(Exchange decided) {
        if (completed) {
            // the stream already ended (a response that ended before the request body): the slot goes back now
            decided.complete(response.usage(), false);
            return;
        }
        this.exchange = decided;
        response.exchange(decided);
    }

    @Override
    public void onError(Throwable t) {
        leaveQueue();
        order.execute(() -> {
            // the gateway cancelled or the connection broke: release what the request holds
            if (!(t instanceof StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.CANCELLED)
                    && LOG.isDebugEnabled()) {
                LOG.debug("ext_proc stream for request {} ended with {}", request.requestId(), t.toString());
            }
            closed = true;
            complete(false);
        });
    }

    @Override
    public void onCompleted() {
        order.execute(() -> {
            complete(response.complete());
            if (!closed) {
                closed = true;
                answers.close();
            }
        });
    }

    private void fail(InferenceError error) {
        String model = exchange != null ? exchange.request().model() : error.model().isEmpty() ? request.model()
                : error.model();
        String targetModel = exchange != null ? exchange.request().targetModel() : error.targetModel();
        config.metrics().requestFailed(model, targetModel, error.code().gaieName());
        if (error.code() == InferenceError.Code.INTERNAL) {
            LOG.error("Request {} failed: {}", request.requestId(), error.responseBody(), error.getCause());
        } else if (error.code() == InferenceError.Code.RESOURCE_EXHAUSTED) {
            // shedding is expected under overload and counted in inference_objective_request_error_total
            LOG.debug("Request {} shed: {}", request.requestId(), error.responseBody());
        } else {
            LOG.info("Request {} answered with {}: {}", request.requestId(), error.code().httpStatus(),
                    error.responseBody());
        }
        answers.send(Mutations.immediate(error));
        request.trace().end(config.nanoTicker().getAsLong(), error.code().gaieName(), error.responseBody());
        closed = true;
        complete(false);
        answers.close();
    }

    /** Ends the request once: its exchange (in-flight slot, hooks, metrics), then the service's bookkeeping. */
    private void complete(boolean success) {
        if (completed) {
            return;
        }
        completed = true;
        try {
            request.release();
            response.release();
            if (exchange != null) {
                exchange.complete(response.usage(), success);
            } else {
                request.trace().end(config.nanoTicker().getAsLong(), "failure", "ended before a decision");
            }
        } finally {
            onClose.accept(this);
        }
    }
}
