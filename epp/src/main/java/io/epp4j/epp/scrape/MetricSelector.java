package io.epp4j.epp.scrape;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PromQL-style instant selector restricted to equality matchers: {@code name{label="value",...}}; immutable.
 *
 * <p>Accepted like GAIE's metric specs: label values may be quoted (with {@code \" \\ \n} escapes) or bare,
 * the name may be given as {@code {__name__="x"}}, and non-equality matchers ({@code != =~ !~}) are dropped
 * (GAIE keeps only equality matchers; {@link #droppedMatchers()} lets the caller warn about them).
 *
 * @param name the metric (sample) name, e.g. {@code vllm:num_requests_waiting}
 * @param matchers required label values, in the order written
 * @param droppedMatchers non-equality matchers that were ignored, as written
 */
public record MetricSelector(String name, Map<String, String> matchers, List<String> droppedMatchers) {

    public MetricSelector {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("metric selector needs a metric name");
        }
        matchers = Collections.unmodifiableMap(new LinkedHashMap<>(matchers));
        droppedMatchers = List.copyOf(droppedMatchers);
    }

    /** A selector for every series of a metric name. */
    public static MetricSelector of(String name) {
        return new MetricSelector(name, Map.of(), List.of());
    }

    /**
     * Parses {@code name}, {@code name{l="v"}}, {@code name{l=v, l2="v2"}} or {@code {__name__="name", l="v"}}.
     *
     * @throws IllegalArgumentException naming the problem and the position
     */
    public static MetricSelector parse(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("metric selector is null");
        }
        String s = spec.strip();
        int i = 0;
        while (i < s.length() && isNameChar(s.charAt(i), i == 0)) {
            i++;
        }
        String name = s.substring(0, i);
        Map<String, String> matchers = new LinkedHashMap<>();
        List<String> dropped = new ArrayList<>();
        i = skipSpaces(s, i);
        if (i < s.length()) {
            if (s.charAt(i) != '{') {
                throw error(spec, i, "expected '{' or end of selector");
            }
            i = skipSpaces(s, i + 1);
            while (i < s.length() && s.charAt(i) != '}') {
                int labelStart = i;
                while (i < s.length() && isLabelChar(s.charAt(i), i == labelStart)) {
                    i++;
                }
                if (i == labelStart) {
                    throw error(spec, i, "expected a label name");
                }
                String label = s.substring(labelStart, i);
                i = skipSpaces(s, i);
                String op;
                if (s.startsWith("=~", i) || s.startsWith("!=", i) || s.startsWith("!~", i)) {
                    op = s.substring(i, i + 2);
                    i += 2;
                } else if (s.startsWith("=", i)) {
                    op = "=";
                    i += 1;
                } else {
                    throw error(spec, i, "expected '=' after label '" + label + "'");
                }
                i = skipSpaces(s, i);
                StringBuilder value = new StringBuilder();
                if (i < s.length() && (s.charAt(i) == '"' || s.charAt(i) == '\'')) {
                    char quote = s.charAt(i++);
                    boolean closed = false;
                    while (i < s.length()) {
                        char c = s.charAt(i++);
                        if (c == quote) {
                            closed = true;
                            break;
                        }
                        if (c == '\\' && i < s.length()) {
                            char e = s.charAt(i++);
                            value.append(e == 'n' ? '\n' : e);
                        } else {
                            value.append(c);
                        }
                    }
                    if (!closed) {
                        throw error(spec, i, "unterminated quoted value for label '" + label + "'");
                    }
                } else {
                    while (i < s.length() && s.charAt(i) != ',' && s.charAt(i) != '}'
                            && !Character.isWhitespace(s.charAt(i))) {
                        value.append(s.charAt(i++));
                    }
                }
                if (op.equals("=")) {
                    if (label.equals("__name__")) {
                        if (!name.isEmpty() && !name.equals(value.toString())) {
                            throw error(spec, i, "__name__ contradicts the metric name");
                        }
                        name = value.toString();
                    } else {
                        matchers.put(label, value.toString());
                    }
                } else {
                    dropped.add(label + op + value);
                }
                i = skipSpaces(s, i);
                if (i < s.length() && s.charAt(i) == ',') {
                    i = skipSpaces(s, i + 1);
                } else if (i < s.length() && s.charAt(i) != '}') {
                    throw error(spec, i, "expected ',' or '}'");
                }
            }
            if (i >= s.length()) {
                throw error(spec, i, "missing '}'");
            }
            if (skipSpaces(s, i + 1) != s.length()) {
                throw error(spec, i + 1, "unexpected text after '}'");
            }
        }
        if (name.isEmpty()) {
            throw error(spec, 0, "missing metric name");
        }
        return new MetricSelector(name, matchers, dropped);
    }

    private static IllegalArgumentException error(String spec, int pos, String what) {
        return new IllegalArgumentException("invalid metric selector \"" + spec + "\" at " + pos + ": " + what);
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    static boolean isNameChar(int c, boolean first) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'
                || (!first && c >= '0' && c <= '9');
    }

    static boolean isLabelChar(int c, boolean first) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
    }

    @Override
    public String toString() {
        if (matchers.isEmpty()) {
            return name;
        }
        StringBuilder sb = new StringBuilder(name).append('{');
        matchers.forEach((k, v) -> sb.append(sb.charAt(sb.length() - 1) == '{' ? "" : ",")
                .append(k).append("=\"").append(v.replace("\\", "\\\\").replace("\"", "\\\"")
                        .replace("\n", "\\n")).append('"'));
        return sb.append('}').toString();
    }
}
