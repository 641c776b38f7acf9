package io.epp4j.spi;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A plugin's {@code parameters} from the config, as plain YAML values (String, Long, Double, Boolean, List, Map).
 * Typed getters throw {@link IllegalArgumentException} naming the parameter when a value has the wrong type.
 */
public final class PluginParameters {

    public static final PluginParameters EMPTY = new PluginParameters(Map.of());

    private final Map<String, Object> values;

    public PluginParameters(Map<String, Object> values) {
        this.values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public Map<String, Object> asMap() {
        return values;
    }

    public boolean has(String name) {
        return values.get(name) != null;
    }

    public String getString(String name, String defaultValue) {
        Object v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Map || v instanceof List) {
            throw bad(name, "a string", v);
        }
        return v.toString();
    }

    public long getLong(String name, long defaultValue) {
        Object v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            return n.longValue();
        }
        return fromString(name, v, "an integer", Long::parseLong);
    }

    public int getInt(String name, int defaultValue) {
        long v = getLong(name, defaultValue);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw bad(name, "a 32-bit integer", v);
        }
        return (int) v;
    }

    public double getDouble(String name, double defaultValue) {
        Object v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        return fromString(name, v, "a number", Double::parseDouble);
    }

    /** A number written as a string (a quoted YAML value); anything else is not {@code expected}. */
    private static <T> T fromString(String name, Object v, String expected, Function<String, T> parse) {
        if (v instanceof String s) {
            try {
                return parse.apply(s.trim());
            } catch (NumberFormatException e) {
                throw bad(name, expected, v);
            }
        }
        throw bad(name, expected, v);
    }

    public boolean getBoolean(String name, boolean defaultValue) {
        Object v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s);
        }
        throw bad(name, "true or false", v);
    }

    /** A Go-style duration ({@code 50ms}, {@code 2s}, {@code 1m30s}, {@code 1.5s}) or a number of seconds. */
    public Duration getDuration(String name, Duration defaultValue) {
        Object v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        if (v instanceof Number n) {
            return Duration.ofNanos((long) (n.doubleValue() * 1e9));
        }
        Duration d = parseDuration(v.toString().trim());
        if (d == null) {
            throw bad(name, "a duration like 50ms or 2s", v);
        }
        return d;
    }

    public List<String> getStringList(String name) {
        Object v = values.get(name);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw bad(name, "a list", v);
        }
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            out.add(String.valueOf(o));
        }
        return List.copyOf(out);
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> getMap(String name) {
        Object v = values.get(name);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?>)) {
            throw bad(name, "a mapping", v);
        }
        return (Map<String, Object>) v;
    }

    static Duration parseDuration(String s) {
        if (s.isEmpty()) {
            return null;
        }
        long nanos = 0;
        int i = 0;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            if (start == i) {
                return null;
            }
            double number;
            try {
                number = Double.parseDouble(s.substring(start, i));
            } catch (NumberFormatException e) {
                return null;
            }
            int unitStart = i;
            while (i < s.length() && Character.isLetter(s.charAt(i))) {
                i++;
            }
            String unit = s.substring(unitStart, i);
            double scale = switch (unit) {
                case "ns" -> 1;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                case "h" -> 3600e9;
                default -> -1;
            };
            if (scale < 0) {
                return null;
            }
            nanos += (long) (number * scale);
        }
        return Duration.ofNanos(nanos);
    }

    private static IllegalArgumentException bad(String name, String expected, Object actual) {
        return new IllegalArgumentException("parameter '" + name + "' must be " + expected + ", got '" + actual + "'");
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
