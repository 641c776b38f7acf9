package io.epp4j.epp.bbr;

import java.util.Locale;
import java.util.Set;

/**
 * {@code body-field-to-header}: copies a top-level body field into a header (GAIE's default instance: {@code model}
 * into {@code X-Gateway-Model-Name}). A field that is absent, empty, an object or an array sets nothing.
 */
public final class BodyFieldToHeader implements BbrPlugin {

    public static final String TYPE = "body-field-to-header";
    public static final String MODEL_HEADER = "x-gateway-model-name";

    private final String field;
    private final String header;

    /**
     * @param field the top-level field ({@code fieldName}, default {@code model})
     * @param header the header ({@code headerName}, default {@code X-Gateway-Model-Name})
     */
    public BodyFieldToHeader(String field, String header) {
        if (field.isEmpty() || header.isEmpty()) {
            throw new IllegalArgumentException("fieldName and headerName must not be empty");
        }
        this.field = field;
        this.header = header.toLowerCase(Locale.ROOT);
    }

    @Override
    public Set<String> fields() {
        return Set.of(field);
    }

    @Override
    public String header() {
        return header;
    }

    @Override
    public String value(BbrRequest request) {
        String v = request.fields().get(field);
        return v == null || v.isEmpty() ? null : v;
    }
}
