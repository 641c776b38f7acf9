package io.epp4j.epp.request;

import io.epp4j.spi.ResponseUsage;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads token usage from a model server's JSON response: {@code usage.prompt_tokens} / {@code completion_tokens}
 * (chat, completions), {@code input_tokens} / {@code output_tokens} (responses, conversations),
 * {@code total_tokens}, and cached prompt tokens from {@code prompt_tokens_details.cached_tokens} (the real field;
 * GAIE's {@code prompt_token_details} and the Responses API's {@code input_tokens_details} are accepted too).
 * A Responses-API {@code response.completed} event's {@code response.usage} is read as well. Thread-safe.
 */
public final class UsageParser {

    private static final JsonFactory JSON = new JsonFactory();

    private UsageParser() {
    }

    /** The usage in one JSON document, or null when it has none or is not JSON. */
    public static ResponseUsage parse(byte[] json, int offset, int length) {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), json, offset, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            return readObjectForUsage(p, 0);
        } catch (JacksonException e) {
            return null;
        }
    }

    // Reads an object whose START_OBJECT was consumed; returns usage found at top level or in "response".
    private static ResponseUsage readObjectForUsage(JsonParser p, int depth) {
        ResponseUsage found = null;
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("usage") && value == JsonToken.START_OBJECT) {
                found = readUsage(p);
            } else if (name.equals("response") && value == JsonToken.START_OBJECT && depth == 0) {
                ResponseUsage inner = readObjectForUsage(p, depth + 1);
                if (inner != null) {
                    found = inner;
                }
            } else {
                p.skipChildren();
            }
        }
        return found;
    }

    private static ResponseUsage readUsage(JsonParser p) {
        long prompt = -1;
        long completion = -1;
        long cached = -1;
        long total = -1;
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            switch (name) {
                case "prompt_tokens", "input_tokens" -> prompt = number(p, value, prompt);
                case "completion_tokens", "output_tokens" -> completion = number(p, value, completion);
                case "total_tokens" -> total = number(p, value, total);
                case "prompt_tokens_details", "prompt_token_details", "input_tokens_details" -> {
                    if (value == JsonToken.START_OBJECT) {
                        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                            String detail = p.currentName();
                            JsonToken v = p.nextToken();
                            if (detail.equals("cached_tokens")) {
                                cached = number(p, v, cached);
                            } else {
                                p.skipChildren();
                            }
                        }
                    } else {
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
        return new ResponseUsage(prompt, completion, cached, total);
    }

    /** A token count; a negative one (or any other value) is no count and leaves {@code fallback}. */
    private static long number(JsonParser p, JsonToken value, long fallback) {
        long n = fallback;
        if (value == JsonToken.VALUE_NUMBER_INT) {
            n = p.getLongValue();
        } else if (value == JsonToken.VALUE_NUMBER_FLOAT) {
            n = (long) p.getDoubleValue();
        } else {
            p.skipChildren();
        }
        return n >= 0 ? n : fallback;
    }
}
