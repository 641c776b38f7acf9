package io.epp4j.epp.bbr;

import java.util.Map;
import java.util.Set;

/**
 * One request as the body-based router sees it. The body array is only read, and only during the call it is
 * handed to.
 *
 * @param headers the request headers, names lower-case
 * @param fields the top-level body fields the plugins asked for, as text
 * @param stringFields which of them were JSON strings
 * @param body the body bytes are {@code body[0, length)}
 * @param length the body's length
 */
public record BbrRequest(Map<String, String> headers, Map<String, String> fields, Set<String> stringFields,
                         byte[] body, int length) {

    /** The body's {@code model}, or null when it has none. */
    public String model() {
        return fields.get(BaseModelToHeader.MODEL_FIELD);
    }
}
