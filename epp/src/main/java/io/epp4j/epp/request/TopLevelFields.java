package io.epp4j.epp.request;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads a few top-level fields of a JSON object body with the same streaming parser as
 * {@link OpenAiRequestParser}: nested values (the prompt) are skipped token by token, never built into a tree.
 * The whole body is still checked to be one well-formed JSON object. Thread-safe.
 */
public final class TopLevelFields {

    private static final JsonFactory JSON = new JsonFactory();

    private TopLevelFields() {
    }

    /**
     * The wanted fields' values as text: a string as is, a number or boolean as written; fields that are absent,
     * null, objects or arrays are left out (a header cannot carry them). The last occurrence of a repeated key wins.
     *
     * @throws InvalidRequestException when {@code body[0, length)} is not one JSON object
     */
    public static Map<String, String> read(byte[] body, int length, Set<String> wanted)
            throws InvalidRequestException {
        return read(body, length, wanted, new HashSet<>(2));
    }

    /**
     * The same, and adds to {@code strings} the names of the returned fields whose value was a JSON string (not a
     * number or boolean written as text).
     */
    public static Map<String, String> read(byte[] body, int length, Set<String> wanted, Set<String> strings)
            throws InvalidRequestException {
        Map<String, String> out = new HashMap<>(4);
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new InvalidRequestException("the body is not a JSON object");
            }
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (wanted.contains(name)) {
                    strings.remove(name);
                    switch (value) {
                        case VALUE_STRING -> {
                            out.put(name, p.getString());
                            strings.add(name);
                        }
                        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE ->
                                out.put(name, p.getString());
                        default -> {
                            out.remove(name);
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new InvalidRequestException("trailing data after the JSON object");
            }
        } catch (JacksonException e) {
            throw new InvalidRequestException("not JSON: " + e.getOriginalMessage());
        }
        return out;
    }
}
