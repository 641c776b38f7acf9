package io.epp4j.epp.request;

/** The request body cannot be served (answered with 400 and this message). */
public final class InvalidRequestException extends Exception {

    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message) {
        super(message);
    }
}
