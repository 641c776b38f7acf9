package io.epp4j.scorers.profile;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ProfileHandler;

import java.util.List;
import java.util.Map;

/**
 * {@code single-profile-handler}: runs the configuration's only profile once; it is primary when it picked an
 * endpoint (otherwise the request fails with 429). Configurations with more than one profile are rejected.
 */
public final class SingleProfileHandler extends NamedPlugin implements ProfileHandler {

    public static final String TYPE = "single-profile-handler";

    public SingleProfileHandler(String name) {
        super(TYPE, name);
    }

    @Override
    public List<String> pickProfiles(CycleState state, InferenceRequest request, List<String> profiles,
                                     Map<String, List<Endpoint>> results) {
        return runOnce(profiles, results);
    }

    @Override
    public String primaryProfile(CycleState state, InferenceRequest request, Map<String, List<Endpoint>> results) {
        return firstWithPick(results);
    }

    /** The profiles to run: all of them (a single-profile config has one) in the first round, none after. */
    public static List<String> runOnce(List<String> profiles, Map<String, List<Endpoint>> results) {
        return results.isEmpty() ? profiles : List.of();
    }

    /** The first profile that picked an endpoint, or null when none did. */
    public static String firstWithPick(Map<String, List<Endpoint>> results) {
        for (Map.Entry<String, List<Endpoint>> e : results.entrySet()) {
            if (!e.getValue().isEmpty()) {
                return e.getKey();
            }
        }
        return null;
    }

    @Override
    public int maxProfiles() {
        return 1;
    }
}
