package io.epp4j.epp.request;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One pass over a JSON object body that notes where each wanted top-level field's value lies (its first token and
 * byte range) without building a tree; strings are decoded, everything else stays in the body. The whole body is
 * still checked to be one well-formed object. Used by the parsers of the non-OpenAI JSON protocols. Immutable once
 * read.
 */
final class JsonFields {

    private static final JsonFactory JSON = new JsonFactory();

    /** A field's value: its first token, its bytes {@code [start, end)} in the body, and its text when a string. */
    record Value(JsonToken token, int start, int end, String text) {

        boolean isString() {
            return token == JsonToken.VALUE_STRING;
        }

        boolean isArray() {
            return token == JsonToken.START_ARRAY;
        }

        boolean isTrue() {
            return token == JsonToken.VALUE_TRUE;
        }
    }

    private final Map<String, Value> values;

    private JsonFields(Map<String, Value> values) {
        this.values = values;
    }

    /** The field's value, or null when absent (a JSON null counts as absent). The last occurrence wins. */
    Value get(String name) {
        return values.get(name);
    }

    /** The field's text when it is a string, else "". */
    String string(String name) {
        Value v = values.get(name);
        return v != null && v.isString() ? v.text() : "";
    }

    /**
     * Reads {@code body[0, length)}.
     *
     * @param what names the request in the error messages, e.g. "messages request"
     * @throws InvalidRequestException when the body is not one JSON object
     */
    static JsonFields read(byte[] body, int length, Set<String> wanted, String what) throws InvalidRequestException {
        Map<String, Value> out = new HashMap<>(8);
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidRequestException("invalid " + what + ": the body is not a JSON object");
            }
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (!wanted.contains(name)) {
                    p.skipChildren();
                    continue;
                }
                int start = (int) p.currentTokenLocation().getByteOffset();
                String text = value == JsonToken.VALUE_STRING ? p.getString() : null;
                p.skipChildren();
                int end = (int) p.currentLocation().getByteOffset();
                if (value == JsonToken.VALUE_NULL) {
                    out.remove(name);
                } else {
                    out.put(name, new Value(value, start, end, text));
                }
            }
            if (token != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new InvalidRequestException("invalid " + what + ": trailing data after the JSON object");
            }
        } catch (JacksonException e) {
            throw new InvalidRequestException("invalid " + what + ": " + e.getOriginalMessage());
        }
        return new JsonFields(out);
    }

    /**
     * The token ids of the array at {@code v} (empty when it has none), each a whole number in [0, 2^32) kept as
     * its 32 bits.
     *
     * @throws InvalidRequestException naming {@code field} when an element is not a token id
     */
    static int[] tokenIds(byte[] body, Value v, String field, String what) throws InvalidRequestException {
        int count = 0;
        int[] ids = new int[16];
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, v.start(), v.end() - v.start())) {
            p.nextToken(); // START_ARRAY
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t != JsonToken.VALUE_NUMBER_INT || p.getLongValue() < 0 || p.getLongValue() > 0xFFFF_FFFFL) {
                    throw new InvalidRequestException("invalid " + what + ": " + field
                            + " must be an array of uint32 token ids");
                }
                if (count == ids.length) {
                    ids = java.util.Arrays.copyOf(ids, count * 2);
                }
                ids[count++] = (int) p.getLongValue();
            }
        } catch (JacksonException e) {
            throw new InvalidRequestException("invalid " + what + ": " + field + ": " + e.getOriginalMessage());
        }
        return java.util.Arrays.copyOf(ids, count);
    }

    /** Whether the array or object at {@code v} has no element. */
    static boolean isEmptyContainer(byte[] body, Value v) {
        for (int i = v.start() + 1; i < v.end() - 1; i++) {
            byte b = body[i];
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return true;
    }
}
