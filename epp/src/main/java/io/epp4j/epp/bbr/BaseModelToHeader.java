package io.epp4j.epp.bbr;

import java.util.Locale;
import java.util.Set;

/**
 * {@code base-model-to-header}: sets {@code X-Gateway-Base-Model-Name} to the base model of the body's
 * {@code model} (an adapter maps to its base model, a base model to itself), from a {@link BaseModelLookup}.
 * A model the lookup misses sets nothing, so the gateway's routes decide.
 */
public final class BaseModelToHeader implements BbrPlugin {

    public static final String TYPE = "base-model-to-header";
    public static final String BASE_MODEL_HEADER = "x-gateway-base-model-name";
    static final String MODEL_FIELD = "model";

    private final String header;
    private final BaseModelLookup lookup;

    /** @param header the header ({@code headerName}, default {@code X-Gateway-Base-Model-Name}) */
    public BaseModelToHeader(String header, BaseModelLookup lookup) {
        if (header.isEmpty()) {
            throw new IllegalArgumentException("headerName must not be empty");
        }
        this.header = header.toLowerCase(Locale.ROOT);
        this.lookup = lookup;
    }

    @Override
    public Set<String> fields() {
        return Set.of(MODEL_FIELD);
    }

    @Override
    public String header() {
        return header;
    }

    @Override
    public String value(BbrRequest request) {
        if (request.model() == null || request.model().isEmpty()) {
            return null;
        }
        String base = lookup.baseModel(request);
        return base == null || base.isEmpty() ? null : base;
    }
}
