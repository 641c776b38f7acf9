package io.epp4j.epp.config;

import io.epp4j.epp.request.RequestParsers;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.scorers.conformance.DestinationEndpointServedVerifier;
import io.epp4j.scorers.conformance.HeaderBasedTestingFilter;
import io.epp4j.scorers.load.KvCacheUtilizationScorer;
import io.epp4j.scorers.load.QueueScorer;
import io.epp4j.scorers.picker.MaxScorePicker;
import io.epp4j.scorers.prefix.ApproxPrefixCacheProducer;
import io.epp4j.scorers.prefix.PrefixCacheScorer;
import io.epp4j.scorers.profile.SingleProfileHandler;
import io.epp4j.scorers.saturation.UtilizationDetector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

    final ConfigLoader loader = TestPool.loader(new PrometheusRegistry());

    static String resource(String name) {
        try (InputStream in = ConfigLoaderTest.class.getResourceAsStream("/configs/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void assertGaieDefaultScheduler(LoadedConfig c) {
        assertEquals(1, c.profiles().size());
        LoadedConfig.Profile p = c.profiles().get(0);
        assertEquals("default", p.name());
        assertEquals(List.of(), p.filters());
        assertEquals(3, p.scorers().size());
        assertInstanceOf(QueueScorer.class, p.scorers().get(0).scorer());
        assertEquals(2.0, p.scorers().get(0).weight());
        assertInstanceOf(KvCacheUtilizationScorer.class, p.scorers().get(1).scorer());
        assertEquals(2.0, p.scorers().get(1).weight());
        assertInstanceOf(PrefixCacheScorer.class, p.scorers().get(2).scorer());
        assertEquals(3.0, p.scorers().get(2).weight());
        assertInstanceOf(MaxScorePicker.class, p.picker());
        assertInstanceOf(SingleProfileHandler.class, c.profileHandler());
        assertInstanceOf(UtilizationDetector.class, c.saturationDetector());
        assertTrue(c.plugins().values().stream().anyMatch(x -> x instanceof ApproxPrefixCacheProducer),
                "implicit approx-prefix-cache-producer");
        assertEquals(List.of("openai-parser"), parserTypes(c));
    }

    @Test
    void noConfigMeansGaieDefaults() throws ConfigException {
        LoadedConfig c = loader.fromOptions(null, null);
        assertGaieDefaultScheduler(c);
        assertEquals("default", c.source());
        assertEquals(1, c.dataSources().size());
        assertEquals("metrics-data-source", c.dataSources().get(0).source().type());
        assertEquals("core-metrics-extractor", c.dataSources().get(0).extractors().get(0).type());
    }

    @Test
    void chartDefaultPluginsLoadUnchanged() throws ConfigException {
        LoadedConfig c = loader.load(resource("default-plugins.yaml"), "default-plugins.yaml");
        assertGaieDefaultScheduler(c);
        assertEquals(Map.of("scheme", "http", "path", "/metrics", "insecureSkipVerify", true),
                c.dataSourceParameters());
        assertEquals(Map.of(), c.extractorParameters());
    }

    @Test
    void chartShapeForOtherEnginesKeepsExtractorAndParserParameters() throws ConfigException {
        LoadedConfig c = loader.load(resource("default-plugins-sglang.yaml"), "sglang");
        assertGaieDefaultScheduler(withParser(c));
        assertEquals(Map.of("defaultEngine", "sglang"), c.extractorParameters());
        assertEquals("https", c.dataSourceParameters().get("scheme"));
        assertEquals(List.of("passthrough-parser"), parserTypes(c));
    }

    private static LoadedConfig withParser(LoadedConfig c) {
        return new LoadedConfig(c.source(), c.plugins(), c.profiles(), c.profileHandler(), c.saturationDetector(),
                c.featureGates(), c.dataSources(), RequestParsers.GAIE_DEFAULT, c.flowControl(), c.flowControlConfig());
    }

    static List<String> parserTypes(LoadedConfig c) {
        return c.parsers().entries().stream().map(RequestParsers.Entry::type).toList();
    }

    @Test
    void conformanceConfigGetsAPickerAndTheVerifier() throws ConfigException {
        LoadedConfig c = loader.load(resource("conformance-plugins.yaml"), "conformance");
        LoadedConfig.Profile p = c.profiles().get(0);
        assertEquals("conformance-profile", p.name());
        assertInstanceOf(HeaderBasedTestingFilter.class, p.filters().get(0));
        assertInstanceOf(MaxScorePicker.class, p.picker());
        assertInstanceOf(DestinationEndpointServedVerifier.class,
                c.plugins().get("destination-endpoint-served-verifier"));
    }

    @Test
    void llmdApiVersionAndPluginsLoad() throws ConfigException {
        LoadedConfig c = loader.load(resource("llm-d-example.yaml"), "llm-d");
        LoadedConfig.Profile p = c.profiles().get(0);
        assertEquals(1, p.filters().size());
        assertEquals(List.of(3.0, 1.0, 1.0, 0.5), p.scorers().stream().map(LoadedConfig.WeightedScorer::weight)
                .toList());
        assertEquals("detector", c.saturationDetector().name());
        assertEquals("max-score-picker", p.picker().name());
        assertTrue(c.featureGate("enableLegacyMetrics"));
        assertEquals(1, c.plugins().values().stream().filter(x -> x instanceof ApproxPrefixCacheProducer).count());
    }

    @Test
    void flowControlIsParsedAndKept() throws ConfigException {
        LoadedConfig c = loader.load(resource("flow-control.yaml"), "fc");
        assertTrue(c.featureGate("flowControl"));
        assertEquals("10Gi", c.flowControl().get("maxBytes"));
        assertEquals(2, ((List<?>) c.flowControl().get("priorityBands")).size());

        FlowControlConfig fc = c.flowControlConfig();
        assertEquals(10L << 30, fc.maxBytes());
        assertEquals(1000, fc.maxRequests());
        assertEquals(java.time.Duration.ofSeconds(30), fc.defaultRequestTtl());
        assertEquals(new FlowControlConfig.Band(1_000_000_000L, 100, FlowControlConfig.ROUND_ROBIN,
                FlowControlConfig.EDF), fc.band(10));
        assertEquals(new FlowControlConfig.Band(1_000_000, 0, FlowControlConfig.GLOBAL_STRICT,
                FlowControlConfig.FCFS), fc.band(-1), "GAIE's band defaults: global-strict, FCFS, no count limit");
        assertEquals(FlowControlConfig.Band.DEFAULT, fc.band(3), "an unlisted priority gets the template");
        assertEquals(1.0, fc.usageLimitThreshold());
        assertEquals("utilization-detector", fc.saturationDetector().type());
    }

    @Test
    void flowControlIsOnlyBuiltWithItsFeatureGate() throws ConfigException {
        String yaml = resource("flow-control.yaml").replace("featureGates:\n- flowControl\n", "");
        LoadedConfig c = loader.load(yaml, "fc");
        assertNull(c.flowControlConfig(), "gate off: requests are not queued");
        assertEquals("10Gi", c.flowControl().get("maxBytes"), "the section is still validated and kept");
    }

    @Test
    void quantitiesReadAsKubernetesDoes() {
        assertEquals(100, FlowControlConfig.quantity("100"));
        assertEquals(1000, FlowControlConfig.quantity("1k"));
        assertEquals(5L << 30, FlowControlConfig.quantity("5Gi"));
        assertEquals(2_000_000, FlowControlConfig.quantity("2M"));
        assertEquals(1500, FlowControlConfig.quantity("1.5k"));
        assertEquals(1000, FlowControlConfig.quantity("1e3"));
        assertThrows(IllegalArgumentException.class, () -> FlowControlConfig.quantity("-1"));
        assertThrows(IllegalArgumentException.class, () -> FlowControlConfig.quantity("lots"));
    }

    @Test
    void profilesDefaultToEveryDeclaredPlugin() throws ConfigException {
        LoadedConfig c = loader.load("""
                apiVersion: inference.networking.x-k8s.io/v1alpha1
                kind: EndpointPickerConfig
                plugins:
                - type: queue-scorer
                - type: random-picker
                """, "t");
        assertEquals("default", c.profiles().get(0).name());
        assertEquals(1, c.profiles().get(0).scorers().size());
        assertEquals("random-picker", c.profiles().get(0).picker().type());
    }

    static final String HEAD = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n";

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                Arguments.of(HEAD + "plugin:\n- type: queue-scorer\n", 3, "plugin", "unknown field"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\n  weight: 2\n", 5, "plugins[0].weight",
                        "unknown field"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\n- type: fancy-scorer\n", 5, "plugins[1].type",
                        "unknown plugin type 'fancy-scorer'"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: p\n  plugins:\n"
                        + "  - pluginRef: kv-scorer\n", 8, "schedulingProfiles[0].plugins[0].pluginRef",
                        "no plugin named 'kv-scorer'"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\n- type: queue-scorer\n", 5, "plugins[1].name",
                        "duplicate plugin name"),
                Arguments.of(HEAD + "featureGates:\n- warpDrive\n", 4, "featureGates[0]", "unknown feature gate"),
                Arguments.of(HEAD + "plugins:\n- type: token-load-scorer\n  parameters:\n"
                        + "    queueThresholdTokens: lots\n", 6, "plugins[0].parameters", "queueThresholdTokens"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n  plugins:\n"
                        + "  - pluginRef: queue-scorer\n- name: b\n  plugins:\n  - pluginRef: queue-scorer\n", 0,
                        "plugins", "profile handler"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nsaturationDetector:\n  pluginRef: queue-scorer\n",
                        6, "saturationDetector.pluginRef", "not a saturation detector"),
                Arguments.of(HEAD + "plugins:\n- type: metrics-data-source\ndataLayer:\n  sources:\n"
                        + "  - pluginRef: metrics-data-source\n    extractors:\n    - pluginRef: nope\n", 9,
                        "dataLayer.sources[0].extractors[0].pluginRef", "no plugin named 'nope'"),
                Arguments.of(HEAD + "flowControl:\n  priorityBands:\n  - priority: 1\n    queue: x\n", 6,
                        "flowControl.priorityBands[0].queue", "unknown field"),
                Arguments.of(HEAD + "featureGates: [flowControl]\nflowControl:\n  priorityBands:\n  - priority: 1\n"
                        + "  - priority: 1\n", 7, "flowControl.priorityBands[1]", "duplicate priority 1"),
                Arguments.of(HEAD + "featureGates: [flowControl]\nflowControl:\n  maxRequests: -5\n", 5,
                        "flowControl.maxRequests", "must not be negative"),
                Arguments.of(HEAD + "featureGates: [flowControl]\nflowControl:\n  priorityBands:\n  - priority: 1\n"
                        + "    fairnessPolicyRef: fcfs-ordering-policy\n", 6, "flowControl.priorityBands[0]",
                        "not a fairness policy"),
                Arguments.of(HEAD + "dataLayer:\n  sourcez: []\n", 4, "dataLayer.sourcez", "unknown field"),
                Arguments.of(HEAD + "dataLayer:\n  injectDefaults: maybe\n", 4, "dataLayer.injectDefaults",
                        "must be true or false"),
                Arguments.of(HEAD + "dataLayer:\n  discovery:\n    pluginRef: nope\n", 5,
                        "dataLayer.discovery.pluginRef", "no plugin named 'nope'"),
                Arguments.of(HEAD + "flowControl:\n  noEndpointTTL: 5s\n", 4, "flowControl.noEndpointTTL",
                        "unknown field"),
                Arguments.of(HEAD + "flowControl:\n  noEndpointRequestTTL: soon\n", 4,
                        "flowControl.noEndpointRequestTTL", "must be a duration"),
                Arguments.of(HEAD + "flowControl:\n  defaultNegativePriorityBand:\n    maxRequestz: 3\n", 5,
                        "flowControl.defaultNegativePriorityBand.maxRequestz", "unknown field"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nflowControl:\n  saturationDetector:\n"
                        + "    pluginRef: queue-scorer\n", 7, "flowControl.saturationDetector.pluginRef",
                        "not a saturation detector"),
                Arguments.of(HEAD + "featureGates:\n- flowControl=maybe\n", 4, "featureGates[0]",
                        "name=true"),
                Arguments.of(HEAD + "requestHandler:\n  parser: []\n", 4, "requestHandler.parser", "unknown field"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nrequestHandler:\n  parsers:\n"
                        + "  - pluginRef: queue-scorer\n", 7, "requestHandler.parsers[0].pluginRef",
                        "is not a parser"),
                Arguments.of(HEAD + "plugins:\n- type: queue-scorer\nfeatureGates: [flowControl]\nflowControl:\n"
                        + "  usageLimitPolicyPluginRef: queue-scorer\n", 7, "flowControl.usageLimitPolicyPluginRef",
                        "no flow-control policy named"),
                Arguments.of("apiVersion: v2\nkind: EndpointPickerConfig\n", 1, "apiVersion", "must be one of"),
                Arguments.of(HEAD + "plugins: [\n", 4, "", "invalid YAML"));
    }

    @ParameterizedTest
    @MethodSource("badConfigs")
    void invalidConfigNamesLineAndField(String yaml, int line, String field, String problem) {
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(yaml, "t"));
        assertEquals(line, e.line(), e.getMessage());
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
        if (line > 0) {
            assertTrue(e.getMessage().startsWith("line " + line + ": "), e.getMessage());
        }
    }

    @Test
    void dataLayerGetsTheDefaultMetricsSourceUnlessInjectDefaultsIsFalse() throws ConfigException {
        String sources = "plugins:\n- type: endpoint-notification-source\ndataLayer:\n%s  sources:\n"
                + "  - pluginRef: endpoint-notification-source\n    extractors: []\n";
        LoadedConfig injected = loader.load(HEAD + sources.formatted(""), "t");
        assertEquals(List.of("endpoint-notification-source", "metrics-data-source"),
                injected.dataSources().stream().map(d -> d.source().type()).toList());
        assertTrue(injected.scrapesMetrics());
        LoadedConfig optedOut = loader.load(HEAD + sources.formatted("  injectDefaults: false\n"), "t");
        assertEquals(List.of("endpoint-notification-source"),
                optedOut.dataSources().stream().map(d -> d.source().type()).toList());
        assertFalse(optedOut.scrapesMetrics(), "nothing scrapes model servers");
    }

    @Test
    void dcgmDataSourcesLoadInert() throws ConfigException {
        LoadedConfig c = loader.load(HEAD + "plugins:\n- type: dcgm-data-source\n- type: dcgm-extractor\n"
                + "- type: queue-scorer\ndataLayer:\n  sources:\n  - pluginRef: dcgm-data-source\n    extractors:\n"
                + "    - pluginRef: dcgm-extractor\n", "t");
        assertEquals("dcgm-data-source", c.dataSources().get(0).source().type());
        assertTrue(c.plugins().values().stream().noneMatch(p -> p.type().startsWith("dcgm")), "no instance runs");
    }

    @Test
    void configFileAndTextAreMutuallyExclusive() {
        assertThrows(ConfigException.class, () -> loader.fromOptions("/tmp/x.yaml", HEAD));
    }
}
