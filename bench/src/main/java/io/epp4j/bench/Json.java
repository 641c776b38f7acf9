package io.epp4j.bench;

import java.util.Locale;
import java.util.Map;

/** Tiny JSON writing helpers for the simulators' hot paths (parsing uses Gson). */
public final class Json {

    private Json() {
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
