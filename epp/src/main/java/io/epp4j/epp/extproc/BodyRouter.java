package io.epp4j.epp.extproc;

import java.util.Map;
import java.util.Set;

/**
 * What a body-based router decides for one request: the routing headers its body implies. Implementations must be
 * thread-safe and must not throw: a body they cannot read gets no headers (and is counted by the implementation).
 */
public interface BodyRouter {

    /**
     * The headers to set (names lower-case) for a request with these headers and {@code body[0, length)}; empty
     * when the body names nothing to route on. The array must not be kept or changed.
     */
    Map<String, String> route(Map<String, String> requestHeaders, byte[] body, int length);

    /** Every header {@link #route} can set: the ones it does not set on a request are removed from it. */
    Set<String> headerNames();

    /** A request whose body exceeded the size limit went through unread. */
    void tooLarge();
}
