package io.epp4j.epp.director;

import io.epp4j.epp.flowcontrol.Outcome;

/**
 * A request the EPP answers itself, with an HTTP status and the body {@code inference error: <Code> - <Msg>}
 * (GAIE's ImmediateResponse format).
 */
public final class InferenceError extends Exception {

    private static final long serialVersionUID = 1L;

    /**
     * GAIE's error codes and their HTTP statuses, plus 413 for bodies above --max-request-body-bytes and 431 for
     * headers above --max-request-header-count / --max-request-header-bytes.
     */
    public enum Code {
        BAD_REQUEST("BadRequest", 400),
        PAYLOAD_TOO_LARGE("PayloadTooLarge", 413),
        RESOURCE_EXHAUSTED("ResourceExhausted", 429),
        REQUEST_HEADER_FIELDS_TOO_LARGE("RequestHeaderFieldsTooLarge", 431),
        INTERNAL("Internal", 500),
        SERVICE_UNAVAILABLE("ServiceUnavailable", 503);

        private final String gaieName;
        private final int httpStatus;

        Code(String gaieName, int httpStatus) {
            this.gaieName = gaieName;
            this.httpStatus = httpStatus;
        }

        /** The name used in the response body and in the {@code error_code} metric label. */
        public String gaieName() {
            return gaieName;
        }

        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Code code;
    private String model = "";
    private String targetModel = "";

    public InferenceError(Code code, String message) {
        super(message);
        this.code = code;
    }

    /** An error caused by a failure worth a stack trace in the log (Internal errors). */
    public InferenceError(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    /** The model the client asked for, when known before the error ("" otherwise): a label of the error metric. */
    public String model() {
        return model;
    }

    /** The model the request was to be served as, when known ("" otherwise). */
    public String targetModel() {
        return targetModel;
    }

    /** The error a request that left flow control without being dispatched is answered with (GAIE's codes). */
    static InferenceError of(Outcome outcome) {
        Code code = switch (outcome.errorCode()) {
            case "ResourceExhausted" -> Code.RESOURCE_EXHAUSTED;
            case "ServiceUnavailable" -> Code.SERVICE_UNAVAILABLE;
            default -> Code.INTERNAL;
        };
        return new InferenceError(code, outcome.message());
    }

    /** Names the request's models on this error (the director knows them once it has decided the target). */
    InferenceError forModels(String model, String targetModel) {
        this.model = model;
        this.targetModel = targetModel;
        return this;
    }

    /** The ImmediateResponse body. */
    public String responseBody() {
        return "inference error: " + code.gaieName() + " - " + getMessage();
    }
}
