package io.epp4j.spi;

/**
 * Scheduling found no endpoint for a request (for example every endpoint was filtered out). The EPP answers it
 * with HTTP 429, as GAIE does.
 */
public class SchedulingException extends Exception {

    private static final long serialVersionUID = 1L;

    public SchedulingException(String message) {
        super(message);
    }
}
