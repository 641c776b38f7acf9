package io.epp4j.epp.bbr;

import io.epp4j.epp.config.BbrConfig;
import io.epp4j.epp.config.ConfigException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the body-based router's plugins from its config by GAIE's type names. With no plugins configured, both
 * GAIE defaults: {@code body-field-to-header} ({@code model} into {@code X-Gateway-Model-Name}) and
 * {@code base-model-to-header}.
 */
public final class BbrPlugins {

    private BbrPlugins() {
    }

    /** @param lookup where {@code base-model-to-header} finds base models */
    public static List<BbrPlugin> build(BbrConfig config, BaseModelLookup lookup) throws ConfigException {
        if (config.plugins().isEmpty()) {
            return List.of(new BodyFieldToHeader(BaseModelToHeader.MODEL_FIELD, BodyFieldToHeader.MODEL_HEADER),
                    new BaseModelToHeader(BaseModelToHeader.BASE_MODEL_HEADER, lookup));
        }
        List<BbrPlugin> out = new ArrayList<>();
        for (int i = 0; i < config.plugins().size(); i++) {
            BbrConfig.Plugin p = config.plugins().get(i);
            String field = "plugins[" + i + "]";
            Map<String, String> params = p.parameters();
            try {
                switch (p.type()) {
                    case BodyFieldToHeader.TYPE -> {
                        allow(p, field, Set.of("fieldName", "headerName"));
                        out.add(new BodyFieldToHeader(params.getOrDefault("fieldName", BaseModelToHeader.MODEL_FIELD),
                                params.getOrDefault("headerName", BodyFieldToHeader.MODEL_HEADER)));
                    }
                    case BaseModelToHeader.TYPE -> {
                        allow(p, field, Set.of("headerName"));
                        out.add(new BaseModelToHeader(params.getOrDefault("headerName",
                                BaseModelToHeader.BASE_MODEL_HEADER), lookup));
                    }
                    default -> throw new ConfigException(p.line(), field + ".type", "unknown body-based-routing "
                            + "plugin type \"" + p.type() + "\" (known: " + BodyFieldToHeader.TYPE + ", "
                            + BaseModelToHeader.TYPE + ")");
                }
            } catch (IllegalArgumentException e) {
                throw new ConfigException(p.line(), field + ".parameters", e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    private static void allow(BbrConfig.Plugin p, String field, Set<String> allowed) throws ConfigException {
        for (String k : p.parameters().keySet()) {
            if (!allowed.contains(k)) {
                throw new ConfigException(p.line(), field + ".parameters." + k, "unknown parameter (allowed: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
    }
}
