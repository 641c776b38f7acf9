package io.epp4j.epp.config;

import com.sun.net.httpserver.HttpServer;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.epp4j.epp.extproc.Await;
import io.epp4j.epp.extproc.EppFixture;
import io.epp4j.epp.extproc.EppFixture.Transport;
import io.epp4j.epp.plugins.PluginRegistry;
import io.epp4j.epp.request.RequestParsers;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.gatewaykit.Dialect;
import io.epp4j.gatewaykit.GatewayStream;
import io.epp4j.scorers.admission.ProbabilisticAdmitter;
import io.epp4j.scorers.flowcontrol.PriorityHoldbackPolicy;
import io.epp4j.scorers.flowcontrol.ProgramAwareFairness;
import io.epp4j.scorers.flowcontrol.SoftReflectiveCeilingPolicy;
import io.epp4j.scorers.saturation.ConcurrencyDetector;
import io.epp4j.scorers.saturation.UtilizationDetector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.epp4j.gatewaykit.Messages.chatBody;
import static io.epp4j.gatewaykit.Messages.responseBody;
import static io.epp4j.gatewaykit.Messages.responseHeaders;
import static io.epp4j.gatewaykit.Messages.utf8;
import static io.epp4j.gatewaykit.Messages.setHeader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Our own fixtures ({@code src/test/resources/llmd/}) use every key and plugin type of llm-d-router's sample
 * EndpointPickerConfigs ({@code deploy/config/}, its integration and perf test configs). Each one is loaded; one whose
 * plugin types all exist here starts an EPP in front of two idle model servers and routes a request; one that needed
 * a type epp4j does not have would fail naming it, and only types of the list below may be missing (none are).
 */
class LlmdSampleConfigsTest {

    /** llm-d types epp4j does not have: a sample naming one must fail start-up naming it (none left). */
    static final Set<String> NOT_SUPPORTED = Set.of();

    /** A model server's /metrics at rest: nothing waiting or running, 10% KV cache in use. */
    private static final byte[] IDLE_VLLM = """
            # TYPE vllm:num_requests_waiting gauge
            vllm:num_requests_waiting{model_name="m"} 0
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{model_name="m"} 0
            # TYPE vllm:kv_cache_usage_perc gauge
            vllm:kv_cache_usage_perc{model_name="m"} 0.1
            """.getBytes(StandardCharsets.UTF_8);

    private static final List<HttpServer> MODEL_SERVERS = new ArrayList<>();
    private static String endpoints;

    private final ConfigLoader loader = TestPool.loader(new PrometheusRegistry());

    @BeforeAll
    static void startModelServers() throws IOException {
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            s.createContext("/metrics", exchange -> {
                exchange.sendResponseHeaders(200, IDLE_VLLM.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(IDLE_VLLM);
                }
            });
            s.start();
            MODEL_SERVERS.add(s);
            addresses.add("127.0.0.1:" + s.getAddress().getPort());
        }
        endpoints = String.join(",", addresses);
    }

    @AfterAll
    static void stopModelServers() {
        MODEL_SERVERS.forEach(s -> s.stop(0));
    }

    static String text(String name) {
        try (InputStream in = LlmdSampleConfigsTest.class.getResourceAsStream("/llmd/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path path(String name) {
        try {
            return Path.of(LlmdSampleConfigsTest.class.getResource("/llmd/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The plugin types a fixture declares. */
    @SuppressWarnings("unchecked")
    static Set<String> declaredTypes(String yaml) throws ConfigException {
        Map<String, Object> root = (Map<String, Object>) YamlTree.plain(YamlTree.parse(yaml), "");
        Set<String> types = new LinkedHashSet<>();
        for (Object p : (List<Object>) root.get("plugins")) {
            types.add(String.valueOf(((Map<String, Object>) p).get("type")));
        }
        return types;
    }

    static boolean known(String type) {
        return PluginRegistry.standard().types().contains(type) || ConfigLoader.DATA_SOURCE_TYPES.contains(type)
                || ConfigLoader.EXTRACTOR_TYPES.contains(type) || ConfigLoader.PARSER_TYPES.contains(type)
                || ConfigLoader.FLOW_CONTROL_TYPES.contains(type) || ConfigLoader.NATIVE_TYPES.contains(type)
                || ConfigLoader.DISCOVERY_TYPES.contains(type);
    }

    @ParameterizedTest
    @ValueSource(strings = {"prefix-decode.yaml", "prefix-load-aware.yaml", "precise-prefix.yaml",
        "approx-prefix-producer.yaml", "precise-central-events.yaml", "no-hit-lru.yaml", "probabilistic-admitter.yaml",
        "program-aware.yaml", "soft-reflective-ceiling.yaml", "request-handler.yaml", "perf-baseline.yaml",
        "perf-precise.yaml", "random-passthrough.yaml", "schema-extras.yaml", "data-parallel.yaml",
        "burst-prefix.yaml", "mm-embeddings.yaml", "pd.yaml", "pd-topology.yaml", "epd.yaml", "e-pd.yaml",
        "gpu-attributes.yaml", "request-attribute-reporter.yaml"})
    void llmdSampleStartsAndRoutesOrNamesTheTypeStillMissing(String fixture) throws Exception {
        String yaml = text(fixture);
        List<String> missing = declaredTypes(yaml).stream().filter(t -> !known(t)).toList();
        if (!missing.isEmpty()) {
            assertTrue(NOT_SUPPORTED.containsAll(missing), fixture + " needs unknown types: " + missing);
            ConfigException e = assertThrows(ConfigException.class, () -> loader.load(yaml, fixture));
            assertTrue(e.getMessage().contains("unknown plugin type '" + missing.get(0) + "'"), e.getMessage());
            return;
        }
        loader.load(yaml, fixture); // a clear ConfigException here names the line and field
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=" + endpoints,
                "--config-file=" + path(fixture))) {
            Await.until("both model servers scraped", () -> epp.server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().known()));
            byte[] body = chatBody("m", false, 40);
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", body, 1000, null,
                    "x-gateway-inference-fairness-id", "tenant-a");
            ProcessingResponse picked = s.next();
            if (picked.hasImmediateResponse()) {
                fail(fixture + ": answered " + picked.getImmediateResponse().getStatus().getCodeValue() + " "
                        + picked.getImmediateResponse().getBody().toStringUtf8());
            }
            String destination = setHeader(picked.getRequestHeaders().getResponse().getHeaderMutation(),
                    "x-gateway-destination-endpoint");
            if (declaredTypes(yaml).contains("data-parallel-profile-handler")) {
                // llm-d's data-parallel routing: the pod's primary port, the picked rank in a header
                String rank = setHeader(picked.getRequestHeaders().getResponse().getHeaderMutation(),
                        "x-data-parallel-host-port");
                assertTrue(endpoints.contains(rank), fixture + " picked rank " + rank);
                assertEquals(rank.substring(0, rank.lastIndexOf(':')) + ":8200", destination, fixture);
            } else {
                assertTrue(endpoints.contains(destination), fixture + " routed to " + destination);
            }
            s.cancel();
        }
    }

    @Test
    void requestAttributeReporterGivesTheGatewayTheCompletionTokensOnTheAnswerEndingTheResponse() throws Exception {
        try (EppFixture epp = EppFixture.start(Transport.IN_PROCESS, "--endpoints=" + endpoints,
                "--config-file=" + path("request-attribute-reporter.yaml"))) {
            Await.until("both model servers scraped", () -> epp.server.endpointStore().snapshot().stream()
                    .allMatch(e -> e.metrics().known()));
            GatewayStream s = epp.post(Dialect.ISTIO, "/v1/chat/completions", chatBody("m", true, 40), 1000, null);
            assertTrue(s.next().hasRequestHeaders());
            s.nextUntilBodyEnd(true);
            s.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "text/event-stream"),
                    false, null));
            assertFalse(s.next().hasDynamicMetadata());
            s.send(responseBody(utf8("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"), false, null));
            assertFalse(s.next().hasDynamicMetadata(), "usage is not known before the response ends");
            s.send(responseBody(utf8("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":32,"
                    + "\"completion_tokens\":10,\"total_tokens\":42}}\n\ndata: [DONE]\n\n"), true, null));
            ProcessingResponse last = s.next();
            assertTrue(last.getResponseBody().getResponse().getBodyMutation().getStreamedResponse().getEndOfStream());
            assertEquals(10.0, last.getDynamicMetadata().getFieldsOrThrow("envoy.lb").getStructValue()
                    .getFieldsOrThrow("x-gateway-inference-request-cost").getNumberValue(), last.toString());

            // a response without usage reports nothing (its completion_tokens are 0)
            GatewayStream quiet = epp.post(Dialect.ISTIO, "/v1/chat/completions", chatBody("m", false, 40), 1000,
                    null);
            quiet.next();
            quiet.nextUntilBodyEnd(true);
            quiet.send(responseHeaders(Dialect.ISTIO, Map.of(":status", "200", "content-type", "application/json"),
                    false, null));
            quiet.next();
            quiet.send(responseBody(utf8("{\"choices\":[]}"), true, null));
            assertFalse(quiet.next().hasDynamicMetadata());
        }
    }

    @Test
    void requestAttributeReporterRejectsAnExpressionThatDoesNotCompileNamingTheField() {
        String yaml = text("request-attribute-reporter.yaml").replace("usage.completion_tokens\n",
                "usage.completion_tokens +\n");
        ConfigException e = assertThrows(ConfigException.class, () -> loader.load(yaml, "bad"));
        assertTrue(e.getMessage().contains("plugins[2].parameters") && e.getMessage().contains(
                "'attributes[0].expression' is not a valid CEL expression"), e.getMessage());
    }

    @Test
    void schemaExtrasAreHonouredWhereEpp4jHasTheFeature() throws ConfigException {
        LoadedConfig c = loader.load(text("schema-extras.yaml"), "schema-extras");
        assertTrue(c.featureGate("flowControl"), "flowControl=true");
        assertFalse(c.featureGate("enableLegacyMetrics"), "enableLegacyMetrics=false");
        FlowControlConfig fc = c.flowControlConfig();
        assertEquals(Duration.ofSeconds(30), fc.defaultRequestTtl());
        assertEquals(Duration.ofMinutes(5), fc.noEndpointRequestTtl());
        assertEquals(20, fc.band(-3).maxRequests(), "defaultNegativePriorityBand");
        assertEquals(500, fc.band(0).maxRequests(), "defaultPriorityBand");
        assertEquals(FlowControlConfig.EDF, fc.band(10).orderingPolicy());
        assertInstanceOf(ConcurrencyDetector.class, fc.saturationDetector(), "flowControl.saturationDetector");
        assertInstanceOf(ConcurrencyDetector.class, c.saturationDetector(), "it serves admission too");
        assertTrue(c.scrapesMetrics());
        assertEquals(List.of("openai-parser"), c.parsers().entries().stream().map(RequestParsers.Entry::type)
                .toList());
    }

    @Test
    void llmdFlowControlPluginsAreWiredIntoTheFlowControlConfig() throws ConfigException {
        LoadedConfig program = loader.load(text("program-aware.yaml"), "program-aware");
        assertInstanceOf(ProgramAwareFairness.class, program.flowControlConfig().band(0).fairnessPlugin());
        LoadedConfig ceiling = loader.load(text("soft-reflective-ceiling.yaml"), "soft-reflective");
        assertInstanceOf(SoftReflectiveCeilingPolicy.class, ceiling.flowControlConfig().usageLimitPolicy());
        LoadedConfig admitter = loader.load(text("probabilistic-admitter.yaml"), "admitter");
        assertTrue(admitter.plugins().values().stream().anyMatch(p -> p instanceof ProbabilisticAdmitter));
        assertInstanceOf(UtilizationDetector.class, admitter.saturationDetector());
        assertTrue(admitter.flowControlConfig() == null, "no flowControl gate: legacy admission");
    }

    @Test
    void priorityHoldbackPolicyIsWiredInAndABadCeilingFailsNamingIt() throws ConfigException {
        String yaml = text("soft-reflective-ceiling.yaml")
                .replace("- type: soft-reflective-ceiling-policy", "- name: holdback\n"
                        + "  type: priority-holdback-policy\n  parameters: {minCeiling: 0.4, maxCeiling: 0.9}")
                .replace("usageLimitPolicyPluginRef: soft-reflective-ceiling-policy",
                        "usageLimitPolicyPluginRef: holdback");
        LoadedConfig c = loader.load(yaml, "holdback");
        assertInstanceOf(PriorityHoldbackPolicy.class, c.flowControlConfig().usageLimitPolicy());
        ConfigException e = assertThrows(ConfigException.class,
                () -> loader.load(yaml.replace("minCeiling: 0.4", "minCeiling: 1.2"), "bad"));
        assertTrue(e.getMessage().contains("plugins[3].parameters: parameter 'minCeiling' must be in [0, 1)"),
                e.getMessage());
    }

    @Test
    void requestHandlerParsersAreListedInOrder() throws ConfigException {
        LoadedConfig c = loader.load(text("random-passthrough.yaml"), "passthrough");
        assertEquals(List.of("passthrough-parser"), c.parsers().entries().stream().map(RequestParsers.Entry::type)
                .toList());
    }
}
