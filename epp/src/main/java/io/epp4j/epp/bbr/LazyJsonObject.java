package io.epp4j.epp.bbr;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A JSON object body as a CEL map that builds only what an expression reads: {@code json(request.body).model}
 * scans the body once with the streaming parser and converts the {@code model} value alone, so a 400 KB prompt is
 * skipped, never built into a tree. Iterating the map (e.g. {@code size()} of the whole object) builds every field.
 * Values are CEL's: String, Long, Double, Boolean, the null value, List and Map. A body that is not one JSON object
 * fails the first read with IllegalArgumentException (an evaluation error). Not thread-safe: one evaluation.
 */
final class LazyJsonObject extends AbstractMap<String, Object> {

    private static final JsonFactory JSON = new JsonFactory();

    private final byte[] body;
    private final int length;
    private final Object nullValue;
    private final Map<String, Optional<Object>> read = new HashMap<>();
    private Map<String, Object> all;

    /**
     * @param nullValue what stands for JSON null in the CEL runtime
     * @param known top-level fields already read from this body (which must then be one JSON object), not read again
     */
    LazyJsonObject(byte[] body, int length, Object nullValue, Map<String, Object> known) {
        this.body = body;
        this.length = length;
        this.nullValue = nullValue;
        known.forEach((k, v) -> read.put(k, Optional.of(v)));
    }

    @Override
    public Object get(Object key) {
        Optional<Object> v = lookup(key);
        return v == null ? null : v.orElse(nullValue);
    }

    @Override
    public boolean containsKey(Object key) {
        return lookup(key) != null;
    }

    /** null: absent; empty: present and JSON null. */
    private Optional<Object> lookup(Object key) {
        if (!(key instanceof String name)) {
            return null;
        }
        if (all != null) {
            return all.containsKey(name) ? Optional.of(all.get(name)) : null;
        }
        if (!read.containsKey(name)) {
            Map<String, Object> found = scan(name);
            read.put(name, found.containsKey(name) ? Optional.ofNullable(found.get(name)) : null);
        }
        return read.get(name);
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
        if (all == null) {
            Map<String, Object> m = new LinkedHashMap<>();
            scan(null, m);
            m.replaceAll((k, v) -> v == null ? nullValue : v);
            all = m;
        }
        return all.entrySet();
    }

    /** The field {@code wanted} if present (Java null for JSON null). */
    private Map<String, Object> scan(String wanted) {
        Map<String, Object> out = new HashMap<>(2);
        scan(wanted, out);
        return out;
    }

    private void scan(String wanted, Map<String, Object> into) {
        boolean every = into instanceof LinkedHashMap;
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("json(): the body is not a JSON object");
            }
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (every || name.equals(wanted)) {
                    into.put(name, value(p));
                } else {
                    p.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new IllegalArgumentException("json(): trailing data after the JSON object");
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException("json(): " + e.getOriginalMessage(), e);
        }
    }

    /** The current value as a CEL value (JSON null as Java null at the top, {@code nullValue} inside). */
    private Object value(JsonParser p) {
        return switch (p.currentToken()) {
            case VALUE_STRING -> p.getString();
            // boxed separately: in one conditional expression the long would be promoted to double
            case VALUE_NUMBER_INT -> p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    ? Double.valueOf(p.getDoubleValue()) : (Object) Long.valueOf(p.getLongValue());
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case START_ARRAY -> {
                List<Object> list = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    Object v = value(p);
                    list.add(v == null ? nullValue : v);
                }
                yield list;
            }
            case START_OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    Object v = value(p);
                    map.put(name, v == null ? nullValue : v);
                }
                yield map;
            }
            default -> null; // VALUE_NULL
        };
    }
}
