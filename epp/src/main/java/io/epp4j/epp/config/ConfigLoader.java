package io.epp4j.epp.config;

import io.epp4j.epp.datastore.EndpointStore;
import io.epp4j.epp.plugins.PluginEnvironment;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.spi.FairnessPolicy;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.spi.Filter;
import io.epp4j.spi.Picker;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginFactory;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.SaturationDetector;
import io.epp4j.spi.Scorer;
import io.epp4j.spi.UsageLimitPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.nodes.Node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads GAIE's {@code EndpointPickerConfig} ({@code inference.networking.x-k8s.io/v1alpha1} or llm-d's
 * {@code llm-d.ai/v1alpha1} and {@code llm-d.ai/v1}) strictly: an unknown key, plugin type or reference fails with a
 * {@link ConfigException} naming the line and the field. Creates the scheduling plugins and applies GAIE v1.5.0's
 * system defaults (one {@code default} profile when none, {@code single-profile-handler}, a {@code max-score-picker}
 * per profile lacking a picker, {@code utilization-detector}, {@code openai-parser}, the default data layer and the
 * implicit {@code approx-prefix-cache-producer}). llm-d-router's additions to the schema
 * ({@code requestHandler.parsers}, {@code dataLayer.injectDefaults} and its discovery keys, the {@code flowControl}
 * extras, gates written {@code name=true}) are read too: honoured where epp4j has the feature, otherwise accepted
 * with one warning that names the key.
 */
public final class ConfigLoader {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    public static final Set<String> API_VERSIONS = Set.of("inference.networking.x-k8s.io/v1alpha1", "llm-d.ai/v1alpha1",
            "llm-d.ai/v1");
    public static final Set<String> FEATURE_GATES = Set.of("flowControl", "enableLegacyMetrics", "dataLayer",
            "haPopulateNonLeaderDatastore");
    /** llm-d's gate that lets a standby replica route what reaches it; on by default there, always so here. */
    static final String HA_POPULATE_NON_LEADER = "haPopulateNonLeaderDatastore";
    static final Set<String> DATA_SOURCE_TYPES = Set.of("metrics-data-source", "k8s-notification-source",
            "endpoint-notification-source", "models-data-source", "dcgm-data-source");
    static final Set<String> EXTRACTOR_TYPES = Set.of("core-metrics-extractor", "models-data-extractor",
            "dcgm-extractor");
    /** Data-layer types for hardware this EPP cannot read (NVIDIA DCGM exporter): accepted, inert, one warning. */
    static final Set<String> INERT_DATA_TYPES = Set.of("dcgm-data-source", "dcgm-extractor");
    static final Set<String> PARSER_TYPES = RequestParsers.TYPES;
    static final Set<String> FLOW_CONTROL_TYPES = Set.of("global-strict-fairness-policy",
            "round-robin-fairness-policy", "fcfs-ordering-policy", "edf-ordering-policy",
            "slo-deadline-ordering-policy", "static-usage-limit-policy");
    /**
     * Plugins llm-d wires under a data source's extractors that follow the endpoints on their own here (they read
     * pod labels per request, or forget endpoints not seen for a while), so listing them there is accepted as is.
     */
    static final Set<String> SELF_TRACKING_EXTRACTOR_TYPES = Set.of("mm-embeddings-cache-producer",
            "topology-extractor");
    /**
     * llm-d's endpoint-discovery and cross-replica types (named by {@code dataLayer.discovery} and
     * {@code crossReplicaSyncerPluginRef}): accepted, not implemented, one warning.
     */
    static final Set<String> DISCOVERY_TYPES = Set.of("file-discovery", "multicluster-file-discovery",
            "local-syncer");
    /** Known GAIE types epp4j covers natively (the endpoint store counts in-flight requests and tokens itself). */
    static final Set<String> NATIVE_TYPES = Set.of("inflight-load-producer");

    private static final Set<String> TOP_KEYS = Set.of("apiVersion", "kind", "plugins", "schedulingProfiles",
            "featureGates", "saturationDetector", "dataLayer", "flowControl", "parser", "requestHandler");
    private static final Set<String> FLOW_KEYS = Set.of("maxBytes", "maxRequests", "defaultRequestTTL",
            "noEndpointRequestTTL", "defaultPriorityBand", "defaultNegativePriorityBand", "priorityBands",
            "usageLimitPolicyPluginRef", "saturationDetector", "enableEviction");
    private static final Set<String> DATA_LAYER_KEYS = Set.of("injectDefaults", "sources", "discovery",
            "peerDiscovery", "crossReplicaSyncerPluginRef", "crossReplicaSyncInterval");
    private static final Set<String> BAND_KEYS = Set.of("priority", "maxBytes", "maxRequests", "fairnessPolicyRef",
            "orderingPolicyRef");

    /** The plugin types GAIE's system defaults add when a configuration lacks them. */
    static final String DEFAULT_PROFILE_HANDLER = "single-profile-handler";
    static final String DEFAULT_PICKER = "max-score-picker";
    static final String DEFAULT_SATURATION_DETECTOR = "utilization-detector";

    /** GAIE v1.5.0's built-in configuration, used when neither a file nor text is given. */
    public static final String DEFAULT_CONFIG_YAML = """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - type: queue-scorer
            - type: kv-cache-utilization-scorer
            - type: prefix-cache-scorer
            - type: metrics-data-source
            - type: core-metrics-extractor
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: queue-scorer
                weight: 2
              - pluginRef: kv-cache-utilization-scorer
                weight: 2
              - pluginRef: prefix-cache-scorer
                weight: 3
            dataLayer:
              sources:
              - pluginRef: metrics-data-source
                extractors:
                - pluginRef: core-metrics-extractor
            """;

    private final PluginRegistry registry;
    private final PluginEnvironment environment;

    public ConfigLoader(PluginRegistry registry, PluginEnvironment environment) {
        this.registry = registry;
        this.environment = environment;
    }

    /** {@code --config-file} / {@code --config-text} (mutually exclusive; neither ⇒ the default config). */
    public LoadedConfig fromOptions(String configFile, String configText) throws ConfigException {
        boolean hasFile = configFile != null && !configFile.isBlank();
        boolean hasText = configText != null && !configText.isBlank();
        if (hasFile && hasText) {
            throw new ConfigException(0, "--config-file/--config-text", "give at most one of them");
        }
        if (hasFile) {
            return loadFile(Path.of(configFile));
        }
        if (hasText) {
            return load(configText, "config-text");
        }
        return loadDefault();
    }

    public LoadedConfig loadFile(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(0, "--config-file", "cannot read " + file + ": " + e.getMessage());
        }
        return load(text, file.toString());
    }

    public LoadedConfig loadDefault() {
        try {
            return load(DEFAULT_CONFIG_YAML, "default");
        } catch (ConfigException e) {
            throw new IllegalStateException("the built-in default config is invalid: " + e.getMessage(), e);
        }
    }

    /** Parses, validates and instantiates; on failure every plugin already created is closed. */
    public LoadedConfig load(String yaml, String source) throws ConfigException {
        Build b = new Build(source);
        try {
            return b.run(yaml);
        } catch (ConfigException | RuntimeException e) {
            for (Plugin p : b.instances.values()) {
                closeQuietly(p);
            }
            throw e;
        }
    }

    static void closeQuietly(Object plugin) {
        if (plugin instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing plugin {} failed: {}", plugin, e.toString());
            }
        }
    }

    private enum Kind { SCHEDULING, DATA_SOURCE, EXTRACTOR, PARSER, FLOW_CONTROL, NATIVE, DISCOVERY }

    private record Declared(String name, String type, Kind kind, Map<String, Object> parameters, int line) {
    }

    private final class Build {
        final String source;
        final Map<String, Declared> declared = new LinkedHashMap<>();
        final Map<String, Plugin> instances = new LinkedHashMap<>();
        final PluginContext context;

        Build(String source) {
            this.source = source;
            this.context = environment.contextFor(instances);
        }

        LoadedConfig run(String yaml) throws ConfigException {
            Node root = YamlTree.parse(yaml);
            if (root == null) {
                throw new ConfigException(0, "", "the config is empty");
            }
            Map<String, Node> top = YamlTree.mapping(root, "", TOP_KEYS);
            String apiVersion = top.containsKey("apiVersion") ? YamlTree.string(top.get("apiVersion"), "apiVersion")
                    : null;
            if (apiVersion == null || !API_VERSIONS.contains(apiVersion)) {
                throw new ConfigException(YamlTree.line(top.get("apiVersion")), "apiVersion",
                        "must be one of " + new java.util.TreeSet<>(API_VERSIONS) + ", got " + apiVersion);
            }
            String kind = top.containsKey("kind") ? YamlTree.string(top.get("kind"), "kind") : null;
            if (!"EndpointPickerConfig".equals(kind)) {
                throw new ConfigException(YamlTree.line(top.get("kind")), "kind",
                        "must be EndpointPickerConfig, got " + kind);
            }
            Set<String> gates = featureGates(top.get("featureGates"));
            plugins(top.get("plugins"));
            resolveReferences();
            requiredProducers();
            List<LoadedConfig.Profile> profiles = profiles(top.get("schedulingProfiles"));
            ProfileHandler handler = profileHandler(profiles.size());
            profiles = withPickers(profiles);
            Node flowDetector = nestedSaturationDetector(top.get("flowControl"));
            SaturationDetector detector = flowDetector != null
                    ? saturationDetector(flowDetector, "flowControl.saturationDetector")
                    : saturationDetector(top.get("saturationDetector"), "saturationDetector");
            RequestParsers parsers = parsers(top.get("parser"), top.get("requestHandler"),
                    apiVersion.startsWith("llm-d.ai/"));
            List<LoadedConfig.DataSource> dataSources = dataLayer(top.get("dataLayer"));
            warnInert();
            Map<String, Object> flow = flowControl(top.get("flowControl"));
            FlowControlConfig queueing = null;
            if (gates.contains("flowControl")) {
                queueing = flowControlConfig(flow, top.get("flowControl"), detector);
            } else if (!flow.isEmpty()) {
                LOG.warn("flowControl is set but the flowControl feature gate is off: requests are not queued");
            }
            return new LoadedConfig(source, java.util.Collections.unmodifiableMap(new LinkedHashMap<>(instances)),
                    List.copyOf(profiles), handler, detector, Set.copyOf(gates), List.copyOf(dataSources), parsers,
                    flow, queueing);
        }

        /** {@code flowControl.saturationDetector} (llm-d; preferred over the top-level key), or null. */
        Node nestedSaturationDetector(Node flowControl) throws ConfigException {
            if (YamlTree.isNull(flowControl)) {
                return null;
            }
            Node n = YamlTree.mapping(flowControl, "flowControl", FLOW_KEYS).get("saturationDetector");
            return YamlTree.isNull(n) ? null : n;
        }

        /** One warning per declared type this EPP accepts but cannot run. */
        void warnInert() {
            Set<String> warned = new LinkedHashSet<>();
            for (Declared d : declared.values()) {
                if (INERT_DATA_TYPES.contains(d.type()) && warned.add(d.type())) {
                    LOG.warn("plugin type {} is accepted but inert: epp4j does not read NVIDIA DCGM metrics, so"
                            + " nothing is collected and attributes it would produce stay absent", d.type());
                } else if (DISCOVERY_TYPES.contains(d.type()) && warned.add(d.type())) {
                    LOG.warn("plugin type {} is accepted but not implemented: epp4j finds endpoints from its flags"
                            + " and keeps per-replica state", d.type());
                }
            }
        }

        Set<String> featureGates(Node node) throws ConfigException {
            Set<String> gates = new LinkedHashSet<>();
            int i = 0;
            for (Node n : YamlTree.sequence(node, "featureGates")) {
                String field = "featureGates[" + i++ + "]";
                String entry = YamlTree.string(n, field);
                String gate = entry;
                boolean on = true;
                int eq = entry.indexOf('=');
                if (eq >= 0) { // llm-d: "name=true" / "name=false"
                    gate = entry.substring(0, eq).trim();
                    String value = entry.substring(eq + 1).trim();
                    if (!value.equals("true") && !value.equals("false")) {
                        throw new ConfigException(YamlTree.line(n), field, "must be 'name', 'name=true' or"
                                + " 'name=false', got '" + entry + "'");
                    }
                    on = value.equals("true");
                }
                if (!FEATURE_GATES.contains(gate)) {
                    throw new ConfigException(YamlTree.line(n), field, "unknown feature gate '" + gate + "' (known: "
                            + String.join(", ", new java.util.TreeSet<>(FEATURE_GATES)) + ")");
                }
                if (gate.equals("dataLayer")) {
                    LOG.info("feature gate dataLayer is deprecated: the data layer is always on");
                }
                if (gate.equals(HA_POPULATE_NON_LEADER) && !on) {
                    LOG.warn("feature gate {}=false is accepted but not implemented: every epp4j replica keeps the"
                            + " pool's endpoints and routes the requests that reach it", HA_POPULATE_NON_LEADER);
                }
                if (on) {
                    gates.add(gate);
                } else {
                    gates.remove(gate);
                }
            }
            return gates;
        }

        @SuppressWarnings("unchecked")
        void plugins(Node node) throws ConfigException {
            int i = 0;
            for (Node n : YamlTree.sequence(node, "plugins")) {
                String field = "plugins[" + i++ + "]";
                Map<String, Node> entry = YamlTree.mapping(n, field, Set.of("name", "type", "parameters"));
                if (!entry.containsKey("type")) {
                    throw new ConfigException(YamlTree.line(n), field + ".type", "is required");
                }
                String type = YamlTree.string(entry.get("type"), field + ".type");
                String name = entry.containsKey("name") ? YamlTree.string(entry.get("name"), field + ".name") : type;
                if (name.isEmpty()) {
                    name = type;
                }
                if (declared.containsKey(name)) {
                    throw new ConfigException(YamlTree.line(entry.getOrDefault("name", entry.get("type"))),
                            field + ".name", "duplicate plugin name '" + name + "'");
                }
                Map<String, Object> params = Map.of();
                Node paramsNode = entry.get("parameters");
                if (!YamlTree.isNull(paramsNode)) {
                    Object plain = YamlTree.plain(paramsNode, field + ".parameters");
                    if (!(plain instanceof Map)) {
                        throw new ConfigException(YamlTree.line(paramsNode), field + ".parameters",
                                "must be a mapping");
                    }
                    params = (Map<String, Object>) plain;
                }
                Kind kind = kindOf(type);
                int line = YamlTree.line(entry.get("type"));
                if (kind == Kind.SCHEDULING) {
                    PluginFactory factory = registry.factory(type).orElseThrow(() -> new ConfigException(line,
                            field + ".type", "unknown plugin type '" + type + "'"));
                    instances.put(name, create(factory, name, params, paramsNode == null ? line
                            : YamlTree.line(paramsNode), field));
                } else if (kind == Kind.NATIVE) {
                    LOG.info("plugin {} ({}) needs no instance: epp4j tracks in-flight load natively", name, type);
                }
                declared.put(name, new Declared(name, type, kind, params, line));
            }
        }

        Kind kindOf(String type) {
            if (DATA_SOURCE_TYPES.contains(type)) {
                return Kind.DATA_SOURCE;
            } else if (EXTRACTOR_TYPES.contains(type)) {
                return Kind.EXTRACTOR;
            } else if (PARSER_TYPES.contains(type)) {
                return Kind.PARSER;
            } else if (FLOW_CONTROL_TYPES.contains(type)) {
                return Kind.FLOW_CONTROL;
            } else if (NATIVE_TYPES.contains(type)) {
                return Kind.NATIVE;
            } else if (DISCOVERY_TYPES.contains(type)) {
                return Kind.DISCOVERY;
            }
            return Kind.SCHEDULING;
        }

        Plugin create(PluginFactory factory, String name, Map<String, Object> params, int line, String field)
                throws ConfigException {
            try {
                Plugin p = factory.create(name, new PluginParameters(params), context);
                if (p == null) {
                    throw new ConfigException(line, field, "factory of '" + factory.type() + "' returned nothing");
                }
                return p;
            } catch (IllegalArgumentException e) {
                throw new ConfigException(line, field + ".parameters", e.getMessage());
            } catch (RuntimeException e) {
                throw new ConfigException(line, field, "cannot create plugin '" + name + "': " + e);
            }
        }

        Plugin createDefault(String type, Map<String, Object> params) throws ConfigException {
            String name = type;
            if (instances.containsKey(name) || declared.containsKey(name)) {
                name = type + "-default";
            }
            Plugin p = create(registry.factory(type).orElseThrow(), name, params, 0, "(default " + type + ")");
            instances.put(name, p);
            return p;
        }

        /** Lets each plugin look up the plugins it names, now that all exist. */
        void resolveReferences() throws ConfigException {
            for (Plugin p : List.copyOf(instances.values())) {
                try {
                    p.resolveReferences(context);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(declaredLine(p.name()), "plugins[" + p.name() + "].parameters",
                            e.getMessage());
                }
            }
        }

        /**
         * A plugin that reads a producer's data gets one of that type when none is configured, created with the
         * plugin's own parameters (v1.5.0's implicit prefix producer, made with the prefix scorer's parameters).
         */
        void requiredProducers() throws ConfigException {
            for (Declared d : declared.values()) {
                Plugin p = instances.get(d.name());
                String type = p == null ? null : p.requiredProducerType();
                if (type != null && instances.values().stream().noneMatch(i -> i.type().equals(type))) {
                    createDefault(type, d.parameters());
                }
            }
        }

        List<LoadedConfig.Profile> profiles(Node node) throws ConfigException {
            List<LoadedConfig.Profile> out = new ArrayList<>();
            Set<String> names = new LinkedHashSet<>();
            int i = 0;
            for (Node n : YamlTree.sequence(node, "schedulingProfiles")) {
                String field = "schedulingProfiles[" + i++ + "]";
                Map<String, Node> entry = YamlTree.mapping(n, field, Set.of("name", "plugins"));
                String name = entry.containsKey("name") ? YamlTree.string(entry.get("name"), field + ".name") : "";
                if (name.isEmpty()) {
                    throw new ConfigException(YamlTree.line(n), field + ".name", "is required");
                }
                if (!names.add(name)) {
                    throw new ConfigException(YamlTree.line(entry.get("name")), field + ".name",
                            "duplicate profile name '" + name + "'");
                }
                List<Filter> filters = new ArrayList<>();
                List<LoadedConfig.WeightedScorer> scorers = new ArrayList<>();
                Picker picker = null;
                int j = 0;
                for (Node r : YamlTree.sequence(entry.get("plugins"), field + ".plugins")) {
                    String rf = field + ".plugins[" + j++ + "]";
                    Map<String, Node> ref = YamlTree.mapping(r, rf, Set.of("pluginRef", "weight"));
                    if (!ref.containsKey("pluginRef")) {
                        throw new ConfigException(YamlTree.line(r), rf + ".pluginRef", "is required");
                    }
                    String pluginRef = YamlTree.string(ref.get("pluginRef"), rf + ".pluginRef");
                    int line = YamlTree.line(ref.get("pluginRef"));
                    Declared d = declared.get(pluginRef);
                    if (d == null) {
                        throw new ConfigException(line, rf + ".pluginRef", "no plugin named '" + pluginRef + "'");
                    }
                    Plugin p = instances.get(pluginRef);
                    if (p == null || !(p instanceof Picker || p instanceof Filter || p instanceof Scorer)) {
                        // GAIE and llm-d file a profile's plugins by what they are and pass over the rest (llm-d's
                        // samples list parsers and response hooks there): they run where their kind runs
                        LOG.warn("{}: plugin '{}' ({}) is not a filter, scorer or picker; in profile '{}' it does"
                                + " nothing", rf, pluginRef, d.type(), name);
                        continue;
                    }
                    double weight = ref.containsKey("weight") ? YamlTree.number(ref.get("weight"), rf + ".weight")
                            : 1.0;
                    if (!Double.isFinite(weight)) {
                        throw new ConfigException(YamlTree.line(ref.get("weight")), rf + ".weight",
                                "must be a finite number, got " + weight);
                    }
                    if (p instanceof Picker pk) {
                        if (picker != null) {
                            throw new ConfigException(line, rf + ".pluginRef", "profile '" + name
                                    + "' already has picker '" + picker.name() + "'");
                        }
                        picker = pk;
                    }
                    if (p instanceof Filter f) {
                        filters.add(f);
                    }
                    if (p instanceof Scorer s) {
                        scorers.add(new LoadedConfig.WeightedScorer(s, weight));
                    }
                }
                out.add(new LoadedConfig.Profile(name, List.copyOf(filters), List.copyOf(scorers), picker));
            }
            if (out.isEmpty()) {
                List<Filter> filters = new ArrayList<>();
                List<LoadedConfig.WeightedScorer> scorers = new ArrayList<>();
                Picker picker = null;
                for (Plugin p : instances.values()) {
                    if (p instanceof Picker pk && picker == null) {
                        picker = pk;
                    } else if (p instanceof Filter f) {
                        filters.add(f);
                    }
                    if (p instanceof Scorer s) {
                        scorers.add(new LoadedConfig.WeightedScorer(s, 1.0));
                    }
                }
                out.add(new LoadedConfig.Profile("default", List.copyOf(filters), List.copyOf(scorers), picker));
            }
            return out;
        }

        ProfileHandler profileHandler(int profileCount) throws ConfigException {
            ProfileHandler handler = null;
            for (Plugin p : instances.values()) {
                if (p instanceof ProfileHandler h) {
                    if (handler != null) {
                        throw new ConfigException(declaredLine(h.name()), "plugins", "only one profile handler is"
                                + " allowed, found '" + handler.name() + "' and '" + h.name() + "'");
                    }
                    handler = h;
                }
            }
            if (handler == null) {
                if (profileCount > 1) {
                    throw new ConfigException(0, "plugins", profileCount + " scheduling profiles need a profile"
                            + " handler plugin");
                }
                handler = (ProfileHandler) createDefault(DEFAULT_PROFILE_HANDLER, Map.of());
            }
            if (profileCount > handler.maxProfiles()) {
                throw new ConfigException(declaredLine(handler.name()), "plugins", handler.type() + " '"
                        + handler.name() + "' allows " + (handler.maxProfiles() == 1 ? "exactly one scheduling profile"
                        : "at most " + handler.maxProfiles() + " scheduling profiles") + ", found " + profileCount);
            }
            return handler;
        }

        int declaredLine(String name) {
            Declared d = declared.get(name);
            return d == null ? 0 : d.line();
        }

        List<LoadedConfig.Profile> withPickers(List<LoadedConfig.Profile> profiles) throws ConfigException {
            Picker fallback = null;
            for (Plugin p : instances.values()) {
                if (p instanceof Picker pk) {
                    fallback = pk;
                    break;
                }
            }
            List<LoadedConfig.Profile> out = new ArrayList<>();
            for (LoadedConfig.Profile profile : profiles) {
                if (profile.picker() != null) {
                    out.add(profile);
                    continue;
                }
                if (fallback == null) {
                    fallback = (Picker) createDefault(DEFAULT_PICKER, Map.of());
                }
                out.add(new LoadedConfig.Profile(profile.name(), profile.filters(), profile.scorers(), fallback));
            }
            return out;
        }

        SaturationDetector saturationDetector(Node node, String field) throws ConfigException {
            if (!YamlTree.isNull(node)) {
                Map<String, Node> m = YamlTree.mapping(node, field, Set.of("pluginRef"));
                if (!m.containsKey("pluginRef")) {
                    throw new ConfigException(YamlTree.line(node), field + ".pluginRef", "is required");
                }
                String ref = YamlTree.string(m.get("pluginRef"), field + ".pluginRef");
                if (!(instances.get(ref) instanceof SaturationDetector d)) {
                    throw new ConfigException(YamlTree.line(m.get("pluginRef")), field + ".pluginRef",
                            declared.containsKey(ref) ? "plugin '" + ref + "' is not a saturation detector"
                                    : "no plugin named '" + ref + "'");
                }
                return d;
            }
            if (instances.get(DEFAULT_SATURATION_DETECTOR) instanceof SaturationDetector d) {
                return d;
            }
            return (SaturationDetector) createDefault(DEFAULT_SATURATION_DETECTOR, Map.of());
        }

        LoadedConfig.PluginSpec spec(Declared d) {
            return new LoadedConfig.PluginSpec(d.name(), d.type(), d.parameters());
        }

        Declared firstOfType(String type) {
            return declared.values().stream().filter(d -> d.type().equals(type)).findFirst().orElse(null);
        }

        /**
         * The request parsers: llm-d's {@code requestHandler.parsers} when set (path-claiming parsers, a fallback
         * last); else the deprecated top-level {@code parser}, which under GAIE's apiVersion reads every path and
         * under llm-d's is a list of one; else the dialect's default (GAIE: {@code openai-parser} for every path;
         * llm-d: OpenAI, Anthropic, vLLM HTTP, then {@code passthrough-parser}).
         */
        RequestParsers parsers(Node parser, Node requestHandler, boolean llmd) throws ConfigException {
            List<RequestParsers.Declared> listed = new ArrayList<>();
            if (!YamlTree.isNull(requestHandler)) {
                Map<String, Node> m = YamlTree.mapping(requestHandler, "requestHandler", Set.of("parsers"));
                int i = 0;
                for (Node n : YamlTree.sequence(m.get("parsers"), "requestHandler.parsers")) {
                    listed.add(parserRef(n, "requestHandler.parsers[" + i++ + "]"));
                }
            }
            RequestParsers.Declared single = YamlTree.isNull(parser) ? null : parserRef(parser, "parser");
            if (single != null && !listed.isEmpty()) {
                LOG.warn("Both parser and requestHandler.parsers are set: requestHandler.parsers is used");
            }
            if (!listed.isEmpty()) {
                return RequestParsers.llmd(listed);
            }
            if (single != null) {
                return llmd ? RequestParsers.llmd(List.of(single)) : RequestParsers.gaie(single.name(),
                        single.type());
            }
            if (!llmd) {
                return RequestParsers.GAIE_DEFAULT;
            }
            List<RequestParsers.Declared> defaults = new ArrayList<>();
            for (String type : RequestParsers.LLM_D_DEFAULT) {
                Declared d = firstOfType(type);
                defaults.add(new RequestParsers.Declared(d != null ? d.name() : type, type));
            }
            return RequestParsers.llmd(defaults);
        }

        private RequestParsers.Declared parserRef(Node node, String field) throws ConfigException {
            Map<String, Node> m = YamlTree.mapping(node, field, Set.of("pluginRef"));
            if (!m.containsKey("pluginRef")) {
                throw new ConfigException(YamlTree.line(node), field + ".pluginRef", "is required");
            }
            String ref = YamlTree.string(m.get("pluginRef"), field + ".pluginRef");
            Declared d = declared.get(ref);
            if (d == null || d.kind() != Kind.PARSER) {
                throw new ConfigException(YamlTree.line(m.get("pluginRef")), field + ".pluginRef",
                        d == null ? "no plugin named '" + ref + "'" : "plugin '" + ref + "' is not a parser");
            }
            return new RequestParsers.Declared(d.name(), d.type());
        }

        List<LoadedConfig.DataSource> dataLayer(Node node) throws ConfigException {
            if (YamlTree.isNull(node)) {
                return new ArrayList<>(List.of(defaultMetricsSource()));
            }
            Map<String, Node> m = YamlTree.mapping(node, "dataLayer", DATA_LAYER_KEYS);
            boolean injectDefaults = !m.containsKey("injectDefaults")
                    || YamlTree.bool(m.get("injectDefaults"), "dataLayer.injectDefaults");
            for (String key : List.of("discovery", "peerDiscovery")) {
                if (!YamlTree.isNull(m.get(key))) {
                    Map<String, Node> ref = YamlTree.mapping(m.get(key), "dataLayer." + key, Set.of("pluginRef"));
                    declaredRef(ref.get("pluginRef"), m.get(key), "dataLayer." + key + ".pluginRef");
                    LOG.warn("dataLayer.{} is accepted but not implemented: epp4j {}", key, key.equals("discovery")
                            ? "finds endpoints from --pool-name, --endpoint-selector, --endpoints or --endpoints-file"
                            : "replicas do not discover each other");
                }
            }
            if (m.containsKey("crossReplicaSyncerPluginRef")) {
                declaredRef(m.get("crossReplicaSyncerPluginRef"), node, "dataLayer.crossReplicaSyncerPluginRef");
            }
            if (m.containsKey("crossReplicaSyncInterval")) {
                duration(m.get("crossReplicaSyncInterval"), "dataLayer.crossReplicaSyncInterval");
            }
            if (m.containsKey("crossReplicaSyncerPluginRef") || m.containsKey("crossReplicaSyncInterval")) {
                LOG.warn("dataLayer.crossReplicaSyncerPluginRef / crossReplicaSyncInterval are accepted but not"
                        + " implemented: each epp4j replica keeps its own endpoint state");
            }
            List<LoadedConfig.DataSource> out = new ArrayList<>();
            int i = 0;
            for (Node s : YamlTree.sequence(m.get("sources"), "dataLayer.sources")) {
                String field = "dataLayer.sources[" + i++ + "]";
                Map<String, Node> src = YamlTree.mapping(s, field, Set.of("pluginRef", "extractors"));
                Declared source = reference(src.get("pluginRef"), s, field + ".pluginRef", Kind.DATA_SOURCE,
                        "a data source");
                List<LoadedConfig.PluginSpec> extractors = new ArrayList<>();
                int j = 0;
                for (Node e : YamlTree.sequence(src.get("extractors"), field + ".extractors")) {
                    String ef = field + ".extractors[" + j++ + "]";
                    Map<String, Node> ext = YamlTree.mapping(e, ef, Set.of("pluginRef"));
                    extractors.add(spec(extractor(ext.get("pluginRef"), e, ef + ".pluginRef")));
                }
                out.add(new LoadedConfig.DataSource(spec(source), List.copyOf(extractors)));
            }
            boolean hasMetrics = out.stream().anyMatch(d -> d.source().type().equals("metrics-data-source"));
            if (!hasMetrics && injectDefaults) {
                out.add(defaultMetricsSource()); // llm-d's ensureDataLayer: additive unless opted out
            } else if (!hasMetrics) {
                LOG.warn("dataLayer.injectDefaults is false and no metrics-data-source is listed: model-server"
                        + " metrics are not collected");
            }
            return out;
        }

        /** The default source: {@code metrics-data-source} with {@code core-metrics-extractor}, declared or not. */
        LoadedConfig.DataSource defaultMetricsSource() {
            Declared src = firstOfType("metrics-data-source");
            Declared ext = firstOfType("core-metrics-extractor");
            return new LoadedConfig.DataSource(
                    src != null ? spec(src) : new LoadedConfig.PluginSpec("metrics-data-source",
                            "metrics-data-source", Map.of()),
                    List.of(ext != null ? spec(ext) : new LoadedConfig.PluginSpec("core-metrics-extractor",
                            "core-metrics-extractor", Map.of())));
        }

        /** A reference to any declared plugin. */
        void declaredRef(Node refNode, Node parent, String field) throws ConfigException {
            if (refNode == null) {
                throw new ConfigException(YamlTree.line(parent), field, "is required");
            }
            String ref = YamlTree.string(refNode, field);
            if (!declared.containsKey(ref)) {
                throw new ConfigException(YamlTree.line(refNode), field, "no plugin named '" + ref + "'");
            }
        }

        java.time.Duration duration(Node node, String field) throws ConfigException {
            Object v = YamlTree.plain(node, field);
            try {
                return new PluginParameters(Map.of("d", v == null ? "0s" : v)).getDuration("d", null);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(YamlTree.line(node), field, "must be a duration like 30s");
            }
        }

        /**
         * A data extractor, or a plugin that follows the pool's endpoints (llm-d wires
         * {@code precise-prefix-cache-producer} under {@code endpoint-notification-source} this way; epp4j tells such
         * plugins about endpoints whichever source they are listed under).
         */
        Declared extractor(Node refNode, Node parent, String field) throws ConfigException {
            Plugin p = refNode == null ? null : instances.get(YamlTree.string(refNode, field));
            if (p instanceof EndpointStore.Listener || (p != null && SELF_TRACKING_EXTRACTOR_TYPES.contains(p.type()))) {
                return declared.get(YamlTree.string(refNode, field));
            }
            return reference(refNode, parent, field, Kind.EXTRACTOR, "a data extractor");
        }

        Declared reference(Node refNode, Node parent, String field, Kind kind, String what) throws ConfigException {
            if (refNode == null) {
                throw new ConfigException(YamlTree.line(parent), field, "is required");
            }
            String ref = YamlTree.string(refNode, field);
            Declared d = declared.get(ref);
            if (d == null) {
                throw new ConfigException(YamlTree.line(refNode), field, "no plugin named '" + ref + "'");
            }
            if (d.kind() != kind) {
                throw new ConfigException(YamlTree.line(refNode), field, "plugin '" + ref + "' (" + d.type()
                        + ") is not " + what);
            }
            return d;
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> flowControl(Node node) throws ConfigException {
            if (YamlTree.isNull(node)) {
                return Map.of();
            }
            Map<String, Node> m = YamlTree.mapping(node, "flowControl", FLOW_KEYS);
            if (m.containsKey("usageLimitPolicyPluginRef")) {
                flowRef(m.get("usageLimitPolicyPluginRef"), "flowControl.usageLimitPolicyPluginRef");
            }
            for (String key : List.of("defaultPriorityBand", "defaultNegativePriorityBand")) {
                if (m.containsKey(key)) {
                    band(m.get(key), "flowControl." + key);
                }
            }
            if (m.containsKey("enableEviction")
                    && YamlTree.bool(m.get("enableEviction"), "flowControl.enableEviction")) {
                LOG.warn("flowControl.enableEviction is accepted but not implemented: epp4j never evicts a request"
                        + " that was already dispatched");
            }
            int i = 0;
            for (Node b : YamlTree.sequence(m.get("priorityBands"), "flowControl.priorityBands")) {
                String field = "flowControl.priorityBands[" + i++ + "]";
                Map<String, Node> band = band(b, field);
                if (!band.containsKey("priority")) {
                    throw new ConfigException(YamlTree.line(b), field + ".priority", "is required");
                }
                YamlTree.number(band.get("priority"), field + ".priority");
            }
            for (String key : List.of("defaultRequestTTL", "noEndpointRequestTTL")) {
                if (m.containsKey(key)) {
                    duration(m.get(key), "flowControl." + key);
                }
            }
            return (Map<String, Object>) YamlTree.plain(node, "flowControl");
        }

        /** The typed section with GAIE's defaults; the fields were validated by {@link #flowControl(Node)}. */
        FlowControlConfig flowControlConfig(Map<String, Object> flow, Node node, SaturationDetector detector)
                throws ConfigException {
            Map<String, Node> nodes = YamlTree.isNull(node) ? Map.of() : YamlTree.mapping(node, "flowControl",
                    FLOW_KEYS);
            java.util.function.Function<String, String> typeOf = ref -> {
                Declared d = declared.get(ref);
                return d != null ? d.type() : ref;
            };
            String field = "flowControl";
            Node at = node;
            try {
                field = "flowControl.maxBytes";
                at = nodes.get("maxBytes");
                long maxBytes = flow.get("maxBytes") == null ? 0 : FlowControlConfig.quantity(flow.get("maxBytes"));
                field = "flowControl.maxRequests";
                at = nodes.get("maxRequests");
                long maxRequests = flow.get("maxRequests") == null ? 0
                        : FlowControlConfig.quantity(flow.get("maxRequests"));
                java.time.Duration requestTtl = ttl(flow.get("defaultRequestTTL"), java.time.Duration.ZERO);
                java.time.Duration noEndpointTtl = ttl(flow.get("noEndpointRequestTTL"), requestTtl);
                java.util.function.Function<String, FairnessPolicy> pluginOf =
                        ref -> instances.get(ref) instanceof FairnessPolicy p ? p : null;
                field = "flowControl.defaultPriorityBand";
                at = nodes.get("defaultPriorityBand");
                FlowControlConfig.Band template = flow.get("defaultPriorityBand") instanceof Map<?, ?> m
                        ? checkedBand(FlowControlConfig.band(m, typeOf, pluginOf)) : FlowControlConfig.Band.DEFAULT;
                field = "flowControl.defaultNegativePriorityBand";
                at = nodes.get("defaultNegativePriorityBand");
                FlowControlConfig.Band negative = flow.get("defaultNegativePriorityBand") instanceof Map<?, ?> m
                        ? checkedBand(FlowControlConfig.band(m, typeOf, pluginOf)) : template;
                java.util.TreeMap<Integer, FlowControlConfig.Band> bands = new java.util.TreeMap<>();
                List<Node> bandNodes = YamlTree.sequence(nodes.get("priorityBands"), "flowControl.priorityBands");
                int i = 0;
                for (Object b : flow.get("priorityBands") instanceof List<?> l ? l : List.of()) {
                    at = bandNodes.get(i);
                    field = "flowControl.priorityBands[" + i++ + "]";
                    Map<?, ?> m = (Map<?, ?>) b;
                    int priority = ((Number) m.get("priority")).intValue();
                    if (bands.put(priority, checkedBand(FlowControlConfig.band(m, typeOf, pluginOf))) != null) {
                        throw new IllegalArgumentException("duplicate priority " + priority);
                    }
                }
                field = "flowControl.usageLimitPolicyPluginRef";
                at = nodes.get("usageLimitPolicyPluginRef");
                double threshold = 1.0;
                Object usageRef = flow.get("usageLimitPolicyPluginRef");
                Declared usage = usageRef == null ? null : declared.get(usageRef.toString());
                UsageLimitPolicy policy = usageRef == null ? null
                        : instances.get(usageRef.toString()) instanceof UsageLimitPolicy p ? p : null;
                if (usageRef != null && policy == null
                        && !FlowControlConfig.STATIC_USAGE_LIMIT.equals(typeOf.apply(usageRef.toString()))) {
                    throw new IllegalArgumentException("must name a " + FlowControlConfig.STATIC_USAGE_LIMIT
                            + " or a usage-limit policy plugin");
                }
                if (usage != null && policy == null) {
                    threshold = new PluginParameters(usage.parameters()).getDouble("threshold", 1.0);
                    if (!(threshold > 0)) {
                        throw new IllegalArgumentException("threshold must be > 0, got " + threshold);
                    }
                }
                return new FlowControlConfig(maxBytes, maxRequests, requestTtl, template, bands, threshold, detector,
                        noEndpointTtl, negative, policy);
            } catch (IllegalArgumentException | ClassCastException | ArithmeticException e) {
                throw new ConfigException(YamlTree.line(at == null ? node : at), field, e.getMessage());
            }
        }

        java.time.Duration ttl(Object value, java.time.Duration absent) {
            return value == null ? absent
                    : new PluginParameters(Map.of("t", value)).getDuration("t", java.time.Duration.ZERO);
        }

        FlowControlConfig.Band checkedBand(FlowControlConfig.Band band) {
            if (band.fairnessPlugin() == null && !Set.of(FlowControlConfig.GLOBAL_STRICT, FlowControlConfig.ROUND_ROBIN)
                    .contains(band.fairnessPolicy())) {
                throw new IllegalArgumentException("fairnessPolicyRef names " + band.fairnessPolicy()
                        + ", which is not a fairness policy");
            }
            if (!Set.of(FlowControlConfig.FCFS, FlowControlConfig.EDF, FlowControlConfig.SLO_DEADLINE)
                    .contains(band.orderingPolicy())) {
                throw new IllegalArgumentException("orderingPolicyRef names " + band.orderingPolicy()
                        + ", which is not an ordering policy");
            }
            return band;
        }

        Map<String, Node> band(Node node, String field) throws ConfigException {
            Map<String, Node> band = YamlTree.mapping(node, field, BAND_KEYS);
            for (String key : List.of("fairnessPolicyRef", "orderingPolicyRef")) {
                if (band.containsKey(key)) {
                    flowRef(band.get(key), field + "." + key);
                }
            }
            return band;
        }

        void flowRef(Node node, String field) throws ConfigException {
            String ref = YamlTree.string(node, field);
            Declared d = declared.get(ref);
            Plugin instance = instances.get(ref);
            boolean ok = d != null ? d.kind() == Kind.FLOW_CONTROL || instance instanceof FairnessPolicy
                    || instance instanceof UsageLimitPolicy : FLOW_CONTROL_TYPES.contains(ref);
            if (!ok) {
                throw new ConfigException(YamlTree.line(node), field, "no flow-control policy named '" + ref + "'");
            }
        }
    }
}
