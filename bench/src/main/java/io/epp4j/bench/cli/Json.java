package io.epp4j.bench.cli;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * JSON for the bench: reading through Jackson (request bodies, traces, reports), and small writing helpers for
 * the simulators' hot paths.
 */
public final class Json {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private Json() {
    }

    /**
     * Parses one JSON value: objects become {@code Map<String,Object>} (in document order), arrays
     * {@code List<Object>}, every number a {@code Double}, plus {@code String}, {@code Boolean} and {@code null}.
     *
     * @throws IllegalArgumentException when the text is not exactly one JSON value
     */
    public static Object parse(String json) {
        try {
            return plain(MAPPER.readValue(json, Object.class));
        } catch (JacksonException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Parses a JSON object, or throws {@link IllegalArgumentException}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String json) {
        Object v = parse(json);
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        return (Map<String, Object>) v;
    }

    /**
     * The string value of a top-level field of a JSON object, reading no further than needed and building no tree
     * (the gateway's body-based routing reads {@code model} this way from bodies of any size), or null when the body
     * is not a JSON object or the field is absent or not a string.
     */
    public static String topLevelString(byte[] json, String field) {
        try (JsonParser p = MAPPER.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals(field)) {
                    return value == JsonToken.VALUE_STRING ? p.getString() : null;
                }
                p.skipChildren();
            }
            return null;
        } catch (JacksonException e) {
            return null;
        }
    }

    /** Jackson's value with every number as a Double, so readers need one numeric type. */
    private static Object plain(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put((String) k, plain(v)));
            return out;
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(v -> out.add(plain(v)));
            return out;
        }
        return value instanceof Number n ? Double.valueOf(n.doubleValue()) : value;
    }

    /** {@code s} as a JSON string literal. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        appendQuoted(sb, s);
        return sb.toString();
    }

    public static void appendQuoted(StringBuilder sb, String s) {
        io.epp4j.epp.request.ModelNames.appendJsonString(sb, s);
    }

    /** An OpenAI-style error body: {@code {"error":{"message":..,"type":..,"param":null,"code":..}}}. */
    public static String openAiError(String message, String type, int code) {
        return "{\"error\":{\"message\":" + quote(message) + ",\"type\":" + quote(type)
                + ",\"param\":null,\"code\":" + code + "}}";
    }

    /** A flat JSON object of numbers and strings, keys in iteration order. */
    public static String object(Map<String, ?> fields) {
        StringBuilder sb = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            sb.append("  ");
            appendQuoted(sb, e.getKey());
            sb.append(": ");
            Object v = e.getValue();
            if (v instanceof Double d) {
                sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "null");
            } else if (v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else if (v == null) {
                sb.append("null");
            } else if (v instanceof RawJson raw) {
                sb.append(raw.json());
            } else {
                appendQuoted(sb, v.toString());
            }
            sb.append(++i < fields.size() ? ",\n" : "\n");
        }
        return sb.append("}\n").toString();
    }

    /** Already-serialised JSON to embed as a value in {@link #object(Map)}. */
    public record RawJson(String json) {
    }
}
