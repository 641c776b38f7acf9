package io.epp4j.scorers;

import io.epp4j.scorers.affinity.LoraAffinityScorer;
import io.epp4j.scorers.affinity.SessionAffinityScorer;
import io.epp4j.scorers.conformance.DestinationEndpointServedVerifier;
import io.epp4j.scorers.conformance.HeaderBasedTestingFilter;
import io.epp4j.scorers.filter.ByLabelFilter;
import io.epp4j.scorers.filter.LabelSelectorFilter;
import io.epp4j.scorers.filter.RoleFilter;
import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.EndpointMetrics;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.ResponseHeaders;
import io.epp4j.spi.SchedulingResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.epp4j.scorers.Fixtures.NOW;
import static io.epp4j.scorers.Fixtures.endpoint;
import static io.epp4j.scorers.Fixtures.info;
import static io.epp4j.scorers.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AffinityAndFilterTest {

    static Endpoint lora(Set<String> active, Set<String> waiting, int max) {
        return endpoint(1, new EndpointMetrics(0, 0, 0, active, waiting, max, 16, 100, Double.NaN, NOW));
    }

    @Test
    void loraAffinityFollowsGaieTiers() {
        List<Endpoint> eps = List.of(
                lora(Set.of("a"), Set.of(), 1),          // active ⇒ 1.0
                lora(Set.of("b"), Set.of(), 2),          // free slot ⇒ 0.8
                lora(Set.of("b"), Set.of("a"), 2),       // full, waiting ⇒ 0.6
                lora(Set.of("b", "c"), Set.of(), 2),     // full, absent ⇒ 0
                lora(Set.of(), Set.of(), -1));           // unknown slots ⇒ 0
        double[] s = new double[eps.size()];
        new LoraAffinityScorer(null).score(new CycleState(), request("a", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {1.0, 0.8, 0.6, 0.0, 0.0}, s, 1e-9);
    }

    @Test
    void countInFlightSeesTheSlotThisEppJustTookBeforeTheNextScrape() {
        // pod 0 runs "a" (one of two slots free); pod 1 runs "b" and "c" (full), which teaches the scorer the names
        List<Endpoint> eps = List.of(lora(Set.of("a"), Set.of(), 2), lora(Set.of("b", "c"), Set.of(), 2));
        LoraAffinityScorer gaie = new LoraAffinityScorer(null);
        LoraAffinityScorer counting = new LoraAffinityScorer(null, new PluginParameters(Map.of("countInFlight", true)));
        double[] s = new double[2];
        counting.score(new CycleState(), request("b", "p", Map.of()), eps, s);

        CycleState bOnPod0 = new CycleState();
        var b = request("b", "p", Map.of());
        counting.preRequest(bOnPod0, b, new SchedulingResult("default", List.of(eps.get(0))));
        gaie.preRequest(new CycleState(), b, new SchedulingResult("default", List.of(eps.get(0))));

        // the scrape still shows pod 0's free slot; only the counting scorer knows "b" took it
        gaie.score(new CycleState(), request("c", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {0.8, 1.0}, s, 1e-9);
        counting.score(new CycleState(), request("c", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {0.0, 1.0}, s, 1e-9);
        counting.score(new CycleState(), request("b", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {1.0, 1.0}, s, 1e-9);

        // the slot is free again when the response ends (once, however often the end is reported)
        counting.onComplete(bOnPod0, b, eps.get(0), null, true);
        counting.onComplete(bOnPod0, b, eps.get(0), null, false);
        assertEquals(0, counting.trackedEndpoints());
        counting.score(new CycleState(), request("c", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {0.8, 1.0}, s, 1e-9);
    }

    @Test
    void countInFlightIgnoresModelsNoEndpointListsAsAnAdapter() {
        List<Endpoint> eps = List.of(lora(Set.of("a"), Set.of(), 2), lora(Set.of(), Set.of("c"), 2));
        LoraAffinityScorer counting = new LoraAffinityScorer(null, new PluginParameters(Map.of("countInFlight", true)));
        double[] s = new double[2];
        counting.score(new CycleState(), request("base", "p", Map.of()), eps, s);
        // two base-model requests on pod 0 take no adapter slot
        for (int i = 0; i < 2; i++) {
            counting.preRequest(new CycleState(), request("base", "p", Map.of()),
                    new SchedulingResult("default", List.of(eps.get(0))));
        }
        assertEquals(0, counting.trackedEndpoints());
        counting.score(new CycleState(), request("c", "p", Map.of()), eps, s);
        assertArrayEquals(new double[] {0.8, 0.8}, s, 1e-9);
    }

    @Test
    void sessionAffinityPrefersTheTokensPodAndHandsOutTheServingPod() {
        SessionAffinityScorer scorer = new SessionAffinityScorer(null);
        String token = Base64.getEncoder().encodeToString("ns/pod-2".getBytes(StandardCharsets.UTF_8));
        List<Endpoint> eps = List.of(endpoint(1, 0, 0, 0), endpoint(2, 0, 0, 0), endpoint(3, 0, 0, 0));
        double[] s = new double[3];
        scorer.score(new CycleState(), request("m", "p", Map.of("x-session-token", token)), eps, s);
        assertArrayEquals(new double[] {0, 1, 0}, s, 1e-9);

        ResponseHeaders response = new ResponseHeaders(Map.of(), null);
        scorer.onResponseHeaders(new CycleState(), request("p"), eps.get(2), response);
        assertEquals("ns/pod-3", new String(Base64.getDecoder().decode(response.added().get("x-session-token")),
                StandardCharsets.UTF_8));
    }

    @Test
    void byLabelKeepsValidValuesAndOptionallyUnlabelled() {
        List<Endpoint> eps = List.of(
                new Endpoint(info(1, Map.of("role", "decode")), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(info(2, Map.of("role", "prefill")), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(info(3, Map.of()), EndpointMetrics.UNKNOWN, 0, 0));
        ByLabelFilter strict = new ByLabelFilter(null, new PluginParameters(Map.of("label", "role",
                "validValues", List.of("decode"))));
        assertEquals(List.of(eps.get(0)), strict.filter(new CycleState(), request("p"), eps));
        ByLabelFilter lenient = new ByLabelFilter(null, new PluginParameters(Map.of("label", "role",
                "validValues", List.of("decode"), "allowsNoLabel", true)));
        assertEquals(List.of(eps.get(0), eps.get(2)), lenient.filter(new CycleState(), request("p"), eps));
        assertThrows(IllegalArgumentException.class, () -> new ByLabelFilter(null, PluginParameters.EMPTY));
    }

    @Test
    void labelSelectorAndsMatchLabelsAndExpressions() {
        List<Endpoint> eps = List.of(
                new Endpoint(info(1, Map.of("app", "vllm", "tier", "gold")), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(info(2, Map.of("app", "vllm", "tier", "bronze")), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(info(3, Map.of("app", "sglang")), EndpointMetrics.UNKNOWN, 0, 0));
        LabelSelectorFilter f = new LabelSelectorFilter(LabelSelectorFilter.TYPE, null, new PluginParameters(Map.of(
                "matchLabels", Map.of("app", "vllm"),
                "matchExpressions", List.of(Map.of("key", "tier", "operator", "NotIn", "values", List.of("bronze"))))));
        assertEquals(List.of(eps.get(0)), f.filter(new CycleState(), request("p"), eps));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "decode-filter  | decode,both,prefill-decode,none",
        "prefill-filter | prefill,both,prefill-decode,encode-prefill",
        "encode-filter  | encode,encode-prefill"})
    void roleFiltersKeepTheirRoles(String type, String kept) {
        List<String> roles = List.of("decode", "prefill", "both", "prefill-decode", "encode", "encode-prefill",
                "none");
        List<Endpoint> eps = new java.util.ArrayList<>();
        for (int i = 0; i < roles.size(); i++) {
            Map<String, String> labels = roles.get(i).equals("none") ? Map.of() : Map.of("llm-d.ai/role",
                    roles.get(i));
            eps.add(new Endpoint(info(i, labels), EndpointMetrics.UNKNOWN, 0, 0));
        }
        List<Endpoint> out = new RoleFilter(type, null).filter(new CycleState(), request("p"), eps);
        List<String> keptRoles = out.stream().map(e -> e.info().labels().getOrDefault("llm-d.ai/role", "none"))
                .sorted().toList();
        assertEquals(java.util.Arrays.stream(kept.split(",")).sorted().toList(), keptRoles);
    }

    static List<Endpoint> conformancePool() {
        return List.of(
                new Endpoint(new EndpointInfo("a", "ns", "a", "10.0.0.1", 3000, Map.of()), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(new EndpointInfo("b", "ns", "b", "10.0.0.2", 3000, Map.of()), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(new EndpointInfo("b2", "ns", "b", "10.0.0.2", 3002, Map.of()), EndpointMetrics.UNKNOWN, 0, 0),
                new Endpoint(new EndpointInfo("c", "ns", "c", "fd00::3", 3000, Map.of()), EndpointMetrics.UNKNOWN, 0, 0));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "10.0.0.2                       | b",
        "10.0.0.2:3002                  | b2",
        "'10.0.0.9, 10.0.0.1'           | a",
        "'10.0.0.2:3002,10.0.0.1'       | b2,a",
        "'10.0.0.2,10.0.0.2:3002'       | b",
        "[fd00::3]:3000                 | c",
        "fd00::3                        | c",
        "'  '                           | ''",
        "10.0.0.1:9999                  | ''"})
    void headerBasedTestingFilterKeepsListedEndpointsInHeaderOrder(String header, String expected) {
        List<Endpoint> kept = new HeaderBasedTestingFilter(null).filter(new CycleState(),
                request("m", "p", Map.of("test-epp-endpoint-selection", header)), conformancePool());
        assertEquals(expected, String.join(",", kept.stream().map(e -> e.info().name()).toList()));
    }

    @Test
    void headerBasedTestingFilterWithoutHeaderKeepsNothing() {
        assertEquals(List.of(), new HeaderBasedTestingFilter(null).filter(new CycleState(), request("p"),
                conformancePool()));
    }

    @Test
    void servedEndpointVerifierReportsMetadataOrWhyItIsMissing() {
        DestinationEndpointServedVerifier v = new DestinationEndpointServedVerifier(null);
        ResponseHeaders ok = new ResponseHeaders(Map.of(), Map.of("x-gateway-destination-endpoint-served",
                "10.0.0.1:3000"));
        v.onResponseHeaders(new CycleState(), request("p"), null, ok);
        assertEquals("10.0.0.1:3000", ok.added().get("x-conformance-test-served-endpoint"));
        ResponseHeaders noLb = new ResponseHeaders(Map.of(), null);
        v.onResponseHeaders(new CycleState(), request("p"), null, noLb);
        assertEquals("fail: missing envoy lb metadata", noLb.added().get("x-conformance-test-served-endpoint"));
        ResponseHeaders noKey = new ResponseHeaders(Map.of(), Map.of("other", "x"));
        v.onResponseHeaders(new CycleState(), request("p"), null, noKey);
        assertEquals("fail: missing destination endpoint served metadata",
                noKey.added().get("x-conformance-test-served-endpoint"));
    }
}
