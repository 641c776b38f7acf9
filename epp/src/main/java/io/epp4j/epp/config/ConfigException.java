package io.epp4j.epp.config;

/** An EndpointPickerConfig that cannot be used; the message names the line (when known) and the field. */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int line;
    private final String field;

    public ConfigException(int line, String field, String problem) {
        super((line > 0 ? "line " + line + ": " : "") + (field.isEmpty() ? "" : field + ": ") + problem);
        this.line = line;
        this.field = field;
    }

    /** 1-based line of the offending node, or 0 when not tied to a line (e.g. a missing top-level key). */
    public int line() {
        return line;
    }

    /** The path of the offending field, e.g. {@code plugins[2].type}. */
    public String field() {
        return field;
    }
}
