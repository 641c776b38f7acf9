package io.epp4j.scorers.filter;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;

import java.util.List;
import java.util.Set;

/**
 * llm-d's disaggregation role filters on pod label {@code llm-d.ai/role}: {@code decode-filter} (decode,
 * prefill-decode, both, encode-prefill-decode; unlabelled pods pass), {@code prefill-filter} (prefill,
 * encode-prefill, prefill-decode, both, encode-prefill-decode) and {@code encode-filter} (encode, encode-prefill,
 * encode-prefill-decode). No parameters.
 */
public final class RoleFilter extends NamedPlugin implements Filter {

    public static final String LABEL = "llm-d.ai/role";
    public static final String DECODE = "decode-filter";
    public static final String PREFILL = "prefill-filter";
    public static final String ENCODE = "encode-filter";

    private final Set<String> roles;
    private final boolean unlabelledPass;

    public RoleFilter(String type, String name) {
        super(type, name);
        switch (type) {
            case DECODE -> {
                roles = Set.of("decode", "prefill-decode", "both", "encode-prefill-decode");
                unlabelledPass = true;
            }
            case PREFILL -> {
                roles = Set.of("prefill", "encode-prefill", "prefill-decode", "both", "encode-prefill-decode");
                unlabelledPass = false;
            }
            case ENCODE -> {
                roles = Set.of("encode", "encode-prefill", "encode-prefill-decode");
                unlabelledPass = false;
            }
            default -> throw new IllegalArgumentException("unknown role filter " + type);
        }
    }

    @Override
    public List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints) {
        return ByLabelFilter.withLabel(endpoints, LABEL, roles, unlabelledPass);
    }
}
