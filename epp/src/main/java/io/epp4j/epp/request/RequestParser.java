package io.epp4j.epp.request;

import java.util.Map;

/**
 * Turns one request, its headers and whole body, into what scheduling needs ({@link ParsedRequest}): the model, the
 * prompt bytes for prefix affinity, whether it streams. Stateless and thread-safe; a body it cannot serve throws
 * {@link InvalidRequestException}, which the EPP answers with 400 and the message. Which parser reads a request is
 * chosen by its path ({@link RequestParsers}).
 */
public interface RequestParser {

    /**
     * Parses {@code body[0, length)}.
     *
     * @param headers the request headers, lower-case names ({@code :path} among them)
     */
    ParsedRequest parse(Map<String, String> headers, byte[] body, int length) throws InvalidRequestException;

    /**
     * Whether {@link #parse} needs the body. A parser that does not ({@code passthrough-parser}) has its request
     * decided at the request headers, with {@code body} empty, and the body streams through unread and unbuffered.
     */
    default boolean readsBody() {
        return true;
    }
}
