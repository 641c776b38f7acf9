package io.epp4j.scorers.disagg;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.scorers.prefix.PrefixMatch;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.PreRequest;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.SchedulingResult;
import io.epp4j.spi.UpstreamHeaders;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * llm-d's prefill/decode (and encode) disaggregation: {@code disagg-profile-handler} and the older
 * {@code pd-profile-handler}. Decode first (by default): the decode profile picks the pod the request goes to;
 * then, when the encode decider says so, the encode profile; then, when the prefill decider says so, the prefill
 * profile, whose pick the decode pod's sidecar sends the prompt to first ({@code x-prefiller-host-port}). A
 * prefill or encode profile that finds nothing leaves the request decode-only; a decode profile that finds
 * nothing fails it. With {@code stageOrder: prefill-first} the prefill profile always runs first and its pick is
 * left under {@link #PEER_ENDPOINT} for the decode profile's plugins (decode-first leaves the decode pick there for
 * the prefill profile).
 *
 * <p>{@code disagg-profile-handler} parameters: {@code stageOrder} ({@code decode-first} | {@code prefill-first}),
 * {@code profiles.decode/prefill/encode} ({@code decode}/{@code prefill}/{@code encode}), {@code deciders.prefill},
 * {@code deciders.encode} (names of decider plugins; unset = that stage off), or the flat legacy forms
 * {@code decodeProfile}, {@code prefillProfile}, {@code encodeProfile}, {@code prefillDeciderPluginName} (alias
 * {@code deciderPluginName}), {@code encodeDeciderPluginName}, not mixed with the nested ones. It also writes the
 * headers ({@code x-prefiller-host-port}: the first prefill pick; {@code x-encoder-hosts-ports}: every encode
 * pick), removing any copy the client sent. Counts {@code llm_d_epp_disagg_decision_total}.
 *
 * <p>{@code pd-profile-handler} parameters: {@code decodeProfile}, {@code prefillProfile},
 * {@code deciderPluginName} (default {@code prefix-based-pd-decider}), {@code primaryPort} (0 = off; otherwise the
 * decode pick's port is replaced by it and the pick named in {@code x-data-parallel-host-port}). Without a decider
 * plugin of that name, the older {@code threshold} rule applies: prefill unless fewer than {@code threshold}
 * prompt characters are uncached on the decode pod (0 = always). It writes no prefill header (pair it with
 * {@code prefill-header-handler}); counts {@code llm_d_epp_pd_decision_total}. {@code hashBlockSize},
 * {@code prefixPluginType}, {@code prefixPluginName} and {@code prefixMatchInfoProducerName} are accepted and not
 * used: the prefix producer's own block size and match are read.
 */
public final class DisaggProfileHandler extends NamedPlugin implements ProfileHandler, PreRequest {

    public static final String TYPE = "disagg-profile-handler";
    public static final String LEGACY_TYPE = "pd-profile-handler";

    /** The endpoint picked by the stage that ran first, for the other stage's (topology) plugins. */
    public static final CycleState.Key<Endpoint> PEER_ENDPOINT = new CycleState.Key<>("peer-endpoint");

    /** Stages whose decider was asked and said no (a key absent from the results, yet done). */
    private static final CycleState.Key<Set<String>> SKIPPED = new CycleState.Key<>("disagg-skipped");

    private static final System.Logger LOG = System.getLogger(DisaggProfileHandler.class.getName());

    private final String decodeProfile;
    private final String prefillProfile;
    private final String encodeProfile;
    private final String prefillDeciderName;
    private final String encodeDeciderName;
    private final boolean prefillFirst;
    private final boolean writesHeaders;
    private final int primaryPort;
    private final long legacyThreshold;
    private final PluginMetrics.Counter decisions;
    private volatile PdDecider prefillDecider;
    private volatile PdDecider encodeDecider;

    private DisaggProfileHandler(String type, String name, Settings s, PluginMetrics metrics) {
        super(type, name);
        this.decodeProfile = s.decode;
        this.prefillProfile = s.prefill;
        this.encodeProfile = s.encode;
        this.prefillDeciderName = s.prefillDecider;
        this.encodeDeciderName = s.encodeDecider;
        this.prefillFirst = s.prefillFirst;
        this.writesHeaders = type.equals(TYPE);
        this.primaryPort = s.primaryPort;
        this.legacyThreshold = s.threshold;
        this.decisions = type.equals(TYPE)
                ? metrics.counter("llm_d_epp_disagg_decision_total",
                        "Disaggregation decisions: decode-only, prefill-decode, encode-decode or encode-prefill-decode",
                        "plugin_name", "plugin_type", "model_name", "decision_type")
                : metrics.counter("llm_d_epp_pd_decision_total",
                        "P/D decisions of pd-profile-handler: decode-only or prefill-decode",
                        "plugin_name", "plugin_type", "model_name", "decision_type");
    }

    private static final class Settings {
        String decode = "decode";
        String prefill = "prefill";
        String encode = "encode";
        String prefillDecider;
        String encodeDecider;
        boolean prefillFirst;
        int primaryPort;
        long threshold = -1;
    }

    /** {@code disagg-profile-handler}. */
    public static DisaggProfileHandler disagg(String name, PluginParameters p, PluginContext context) {
        Settings s = new Settings();
        String order = p.getString("stageOrder", "decode-first");
        if (!order.equals("decode-first") && !order.equals("prefill-first")) {
            throw new IllegalArgumentException("parameter 'stageOrder' must be decode-first or prefill-first, got '"
                    + order + "'");
        }
        s.prefillFirst = order.equals("prefill-first");
        boolean nested = p.has("profiles") || p.has("deciders");
        boolean flat = p.has("decodeProfile") || p.has("prefillProfile") || p.has("encodeProfile")
                || p.has("prefillDeciderPluginName") || p.has("encodeDeciderPluginName")
                || p.has("deciderPluginName");
        if (nested && flat) {
            throw new IllegalArgumentException("parameters 'profiles'/'deciders' and the flat legacy fields"
                    + " (decodeProfile, prefillDeciderPluginName, ...) cannot be mixed");
        }
        if (nested) {
            PluginParameters profiles = new PluginParameters(p.getMap("profiles"));
            PluginParameters deciders = new PluginParameters(p.getMap("deciders"));
            s.decode = profiles.getString("decode", s.decode);
            s.prefill = profiles.getString("prefill", s.prefill);
            s.encode = profiles.getString("encode", s.encode);
            s.prefillDecider = deciders.getString("prefill", null);
            s.encodeDecider = deciders.getString("encode", null);
        } else {
            s.decode = p.getString("decodeProfile", s.decode);
            s.prefill = p.getString("prefillProfile", s.prefill);
            s.encode = p.getString("encodeProfile", s.encode);
            s.prefillDecider = p.getString("prefillDeciderPluginName", p.getString("deciderPluginName", null));
            s.encodeDecider = p.getString("encodeDeciderPluginName", null);
        }
        if (s.prefillFirst && s.prefillDecider != null) {
            throw new IllegalArgumentException("a prefill decider ('deciders.prefill') cannot be used with"
                    + " stageOrder: prefill-first, where prefill always runs");
        }
        return new DisaggProfileHandler(TYPE, name, s, context.metrics());
    }

    /** {@code pd-profile-handler}. */
    public static DisaggProfileHandler legacy(String name, PluginParameters p, PluginContext context) {
        Settings s = new Settings();
        s.decode = p.getString("decodeProfile", s.decode);
        s.prefill = p.getString("prefillProfile", s.prefill);
        s.encode = null;
        s.prefillDecider = p.getString("deciderPluginName", null);
        s.primaryPort = p.getInt("primaryPort", 0);
        if (s.primaryPort < 0 || s.primaryPort > 65535) {
            throw new IllegalArgumentException("parameter 'primaryPort' must be 0 (off) or 1-65535, got "
                    + s.primaryPort);
        }
        s.threshold = p.getLong("threshold", 0);
        if (s.threshold < 0) {
            throw new IllegalArgumentException("parameter 'threshold' must be >= 0, got " + s.threshold);
        }
        p.getInt("hashBlockSize", 0); // type-checked, not used
        for (String ignored : List.of("hashBlockSize", "prefixPluginType", "prefixPluginName",
                "prefixMatchInfoProducerName")) {
            if (p.has(ignored)) {
                LOG.log(System.Logger.Level.INFO, "pd-profile-handler " + name + ": parameter '" + ignored
                        + "' is accepted and not used (the prefix producer's block size and match are read)");
            }
        }
        return new DisaggProfileHandler(LEGACY_TYPE, name, s, context.metrics());
    }

    @Override
    public void resolveReferences(PluginContext context) {
        if (prefillDeciderName != null) {
            prefillDecider = decider(context, prefillDeciderName, "prefill decider");
        } else if (type().equals(LEGACY_TYPE)) {
            prefillDecider = context.plugin(PrefixBasedPdDecider.TYPE, PdDecider.class).orElse(null);
        }
        if (encodeDeciderName != null) {
            encodeDecider = decider(context, encodeDeciderName, "encode decider");
        }
    }

    private PdDecider decider(PluginContext context, String ref, String what) {
        return context.plugin(ref, PdDecider.class).orElseThrow(() -> new IllegalArgumentException(
                type() + " " + name() + ": the " + what + " '" + ref + "' is not a decider plugin of this"
                        + " configuration (declare one, e.g. type prefix-based-pd-decider, with that name)"));
    }

    @Override
    public List<String> pickProfiles(CycleState state, InferenceRequest request, List<String> profiles,
                                     Map<String, List<Endpoint>> results) {
        if (prefillFirst && profiles.contains(prefillProfile) && !results.containsKey(prefillProfile)) {
            return List.of(prefillProfile);
        }
        if (!results.containsKey(decodeProfile)) {
            if (prefillFirst) {
                List<Endpoint> p = results.getOrDefault(prefillProfile, List.of());
                if (!p.isEmpty()) {
                    state.put(PEER_ENDPOINT, p.get(0));
                }
            }
            return profiles.contains(decodeProfile) ? List.of(decodeProfile) : List.of();
        }
        List<Endpoint> d = results.get(decodeProfile);
        if (d.isEmpty()) {
            return List.of();
        }
        Endpoint decode = d.get(0);
        if (encodeProfile != null && profiles.contains(encodeProfile) && pending(state, results, encodeProfile)) {
            skip(state, encodeProfile);
            if (encodeDecider != null && encodeDecider.disaggregate(state, request, prefillFirst ? null : decode)) {
                return List.of(encodeProfile);
            }
        }
        if (!prefillFirst && profiles.contains(prefillProfile) && pending(state, results, prefillProfile)) {
            skip(state, prefillProfile);
            if (decidesPrefill(state, request, decode)) {
                state.put(PEER_ENDPOINT, decode);
                return List.of(prefillProfile);
            }
        }
        return List.of();
    }

    private boolean decidesPrefill(CycleState state, InferenceRequest request, Endpoint decode) {
        PdDecider decider = prefillDecider;
        if (decider != null) {
            return decider.disaggregate(state, request, decode);
        }
        if (legacyThreshold < 0) {
            return false; // disagg-profile-handler without a prefill decider: the stage is off
        }
        if (legacyThreshold == 0) {
            return true;
        }
        PrefixMatch match = state.get(PrefixMatch.KEY);
        long cachedBytes = match == null ? 0 : (long) match.matchedBlocks(decode) * match.blockSizeTokens() * 4;
        return request.prompt().length() - cachedBytes >= legacyThreshold;
    }

    private static boolean pending(CycleState state, Map<String, List<Endpoint>> results, String profile) {
        Set<String> skipped = state.get(SKIPPED);
        return !results.containsKey(profile) && (skipped == null || !skipped.contains(profile));
    }

    private static void skip(CycleState state, String profile) {
        Set<String> skipped = state.get(SKIPPED);
        if (skipped == null) {
            skipped = new java.util.HashSet<>(2);
            state.put(SKIPPED, skipped);
        }
        skipped.add(profile);
    }

    @Override
    public String primaryProfile(CycleState state, InferenceRequest request, Map<String, List<Endpoint>> results) {
        List<Endpoint> d = results.get(decodeProfile);
        if (d == null || d.isEmpty()) {
            return null;
        }
        boolean prefill = !results.getOrDefault(prefillProfile, List.of()).isEmpty();
        boolean encode = encodeProfile != null && !results.getOrDefault(encodeProfile, List.of()).isEmpty();
        String decision = encode ? (prefill ? "encode-prefill-decode" : "encode-decode")
                : prefill ? "prefill-decode" : "decode-only";
        decisions.inc(name(), type(), request.targetModel() == null ? "" : request.targetModel(), decision);
        return decodeProfile;
    }

    @Override
    public List<Endpoint> routeTo(CycleState state, InferenceRequest request, List<Endpoint> picked) {
        return primaryPort == 0 ? picked : DataParallelProfileHandler.onPort(picked, primaryPort);
    }

    @Override
    public void preRequest(CycleState state, InferenceRequest request, SchedulingResult result) {
        UpstreamHeaders headers = state.get(UpstreamHeaders.KEY);
        if (headers == null) {
            return;
        }
        if (primaryPort != 0) {
            List<Endpoint> decode = result.profile(decodeProfile);
            headers.remove(DisaggHeaders.DATA_PARALLEL);
            if (!decode.isEmpty()) {
                headers.set(DisaggHeaders.DATA_PARALLEL, decode.get(0).hostPort());
            }
        }
        if (writesHeaders) {
            writeHeaders(headers, result, prefillProfile, encodeProfile);
        }
    }

    /** Removes the client's copies, then names the first prefill pick and every encode pick. */
    static void writeHeaders(UpstreamHeaders headers, SchedulingResult result, String prefillProfile,
                             String encodeProfile) {
        headers.remove(DisaggHeaders.PREFILLER);
        headers.remove(DisaggHeaders.ENCODERS);
        List<Endpoint> prefill = result.profile(prefillProfile);
        if (!prefill.isEmpty()) {
            headers.set(DisaggHeaders.PREFILLER, prefill.get(0).hostPort());
        }
        List<Endpoint> encode = encodeProfile == null ? List.of() : result.profile(encodeProfile);
        if (!encode.isEmpty()) {
            StringJoiner all = new StringJoiner(",");
            for (Endpoint e : encode) {
                all.add(e.hostPort());
            }
            headers.set(DisaggHeaders.ENCODERS, all.toString());
        }
    }
}
