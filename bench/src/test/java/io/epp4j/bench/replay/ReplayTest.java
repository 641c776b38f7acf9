package io.epp4j.bench.replay;

import io.epp4j.bench.cli.Json;
import io.epp4j.bench.gateway.GatewaySim;
import io.epp4j.bench.gateway.Pool;
import io.epp4j.bench.sim.SimConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplayTest {

    @Test
    void policyConfigsAreFoundFromAnyDirectoryOfTheCheckout(@TempDir Path checkout) throws Exception {
        Path configs = Files.createDirectories(checkout.resolve("bench/configs"));
        Path deep = Files.createDirectories(checkout.resolve("bench/src/main"));
        assertEquals(configs.toAbsolutePath(), Replay.defaultConfigs(deep));
        assertEquals(configs.toAbsolutePath(), Replay.defaultConfigs(checkout));
    }

    @Test
    void warmUpIsStreamedTrafficInTheWorkloadsModelsThatSharesNoPromptWithIt() throws Exception {
        Workloads.Workload w = Workloads.load("gen:lora-mix:adapters=3,prefix=200,question=20,output=10,rate=50", 60, 7,
                "base");
        Replay.Settings s = new Replay.Settings(2, 10, 7, SimConfig.defaults("base").withCapacity(8, 100, 1024),
                Replay.defaultConfigs(Path.of("")), false, 2000, 100, "50ms", false);

        List<TraceRequest> warm = Replay.warmUpRequests(w, s);

        assertEquals(100, warm.size());
        assertTrue(warm.stream().allMatch(r -> r.arrivalMs() == 0 && r.outputTokens() == Replay.WARM_UP_OUTPUT_TOKENS));
        assertEquals(w.requests().stream().map(TraceRequest::model).collect(Collectors.toSet()),
                warm.stream().map(TraceRequest::model).collect(Collectors.toSet()), "every adapter is loaded once");
        Set<String> workloadFirstBlocks = new HashSet<>();
        w.requests().forEach(r -> workloadFirstBlocks.add(r.prompt().substring(0, 64)));
        assertTrue(warm.stream().noneMatch(r -> workloadFirstBlocks.contains(r.prompt().substring(0, 64))),
                "no warm-up prompt starts like a workload prompt, so none of it is a cache hit later");
        for (int i = 0; i < warm.size(); i++) {
            assertEquals(w.requests().get(i % w.requests().size()).prompt().length(), warm.get(i).prompt().length(),
                    "warm-up prompts are as long as the workload's, so the JIT compiles for those lengths");
        }
        String common = warm.get(0).prompt().substring(0, warm.get(0).prompt().length() - 64);
        assertTrue(warm.stream().allMatch(r -> r.prompt().startsWith(common.substring(0, 200))),
                "warm-up prompts share their text but the last block: the pods serve most of it from cache");
        assertEquals(warm.size(), warm.stream().map(TraceRequest::prompt).distinct().count(),
                "each warm-up prompt ends with its own text");
        assertEquals(2 * 8, Replay.warmUpSettings(s).maxInFlight(), "the warm-up keeps every pod's batch full");
    }

    @Test
    void everyPolicyIsMeasuredAfterItsOwnWarmUpThroughTheWholePath(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = Replay.run(new String[] {"--trace", "gen:shared-prefix:groups=2,prefix=300,question=20,output=5,rate=20",
            "--policy", "round-robin,gaie-default", "--pods", "2", "--speedup", "20", "--limit", "10", "--warm-up", "30",
            "--out", out.toString(), "--configs", Replay.defaultConfigs(Path.of("")).toString(), "--seed", "3"}, new PrintStream(log));

        assertEquals(0, status, log.toString());
        for (String policy : List.of("round-robin", "gaie-default")) {
            Map<String, Object> summary = Json.parseObject(Files.readString(out.resolve(policy).resolve("summary.json")));
            double warmUps = (Double) summary.get("warm_up_requests");
            // all 30, plus a quarter of them again for each round the JIT was still busy (at most 4)
            assertTrue(warmUps >= 30 && warmUps <= 30 + 4 * 7 && (warmUps - 30) % 7 == 0,
                    policy + ": the warm-up went through gateway and EPP: " + warmUps);
            assertEquals(10.0, summary.get("requests"), policy);
            assertEquals(10.0, summary.get("primed_requests"), policy + ": by default the whole workload primes the run");
            assertEquals(0.0, summary.get("errors"), policy);
            @SuppressWarnings("unchecked")
            Map<String, Object> perPod = (Map<String, Object>) summary.get("requests_per_pod");
            assertEquals(10.0, perPod.values().stream().mapToDouble(v -> (Double) v).sum(),
                    policy + ": only measured requests are counted");
            assertAboveTheLowerBound(policy, summary);
            // the harness says whether it had the CPU it needed, with the evidence
            assertTrue(summary.get("harness_saturated") instanceof Boolean, policy);
            assertTrue((Double) summary.get("harness_cpu_cores") > 0, policy);
            assertTrue((Double) summary.get("probe_delay_p99_ms") >= 0, policy);
        }
        Map<String, Object> viaEpp = Json.parseObject(Files.readString(out.resolve("gaie-default")
                .resolve("summary.json")));
        assertTrue((Double) viaEpp.get("epp_cpu_cores") > 0, "the EPP ran in a process of its own: " + viaEpp);
        assertTrue((Double) viaEpp.get("response_chunks_per_s_through_epp") > 0,
                "every streamed response went through the EPP: " + viaEpp);
        assertTrue(log.toString().contains("EPP in its own JVM") || Files.readString(out.resolve("gaie-default")
                .resolve("summary.json")).contains("EPP in its own JVM"));
    }

    @Test
    void tenantsThroughFlowControlAreReportedByClassWithTheirFairness(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = Replay.run(new String[] {"--trace", "gen:tenants:prompt=100,output=5,rate=20",
            "--policy", "flow-control", "--pods", "2", "--speedup", "20", "--limit", "21", "--warm-up", "10",
            "--epp-in-process", "--prime-requests", "0",
            "--out", out.toString(), "--configs", Replay.defaultConfigs(Path.of("")).toString(), "--seed", "3"},
                new PrintStream(log));

        assertEquals(0, status, log.toString());
        Map<String, Object> summary = Json.parseObject(Files.readString(out.resolve("summary.json")));
        assertEquals(0.0, summary.get("errors"), summary.toString());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> classes = (Map<String, Map<String, Object>>) summary.get("classes");
        assertEquals(List.of("critical", "standard", "sheddable"), List.copyOf(classes.keySet()));
        assertEquals(21.0, classes.values().stream().mapToDouble(c -> (Double) c.get("requests")).sum());
        assertTrue((Double) classes.get("critical").get("ttft_p90_ms") > 0, classes.toString());
        double jain = (Double) summary.get("fairness_jain");
        assertTrue(jain >= 0.5 && jain <= 1.0, "two standard tenants: Jain's index in [1/2, 1]: " + jain);
        assertTrue(summary.containsKey("fairness_jain_dispatched"), summary.toString());
        Object granted = summary.get("fairness_jain_dispatched"); // null when no standard request left in the window
        assertTrue(granted == null || (Double) granted >= 0.5 && (Double) granted <= 1.0,
                "granted shares of two tenants: Jain's index in [1/2, 1] (1/2: one tenant got all): " + granted);
        for (String left : List.of("epp_left_queued", "epp_left_running", "epp_left_streams",
                "epp_left_endpoint_in_flight")) {
            assertEquals(0.0, summary.get(left), "nothing is left in the EPP once every answer is in: " + summary);
        }
    }

    @Test
    void pdPolicyPrefillsLongPromptsOnItsPrefillPodWhileOthersUseTheSamePodsAggregated(@TempDir Path out)
            throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = Replay.run(new String[] {"--trace", "gen:heavy-tail:prompt=3000,sigma=0.1,output=5,rate=10",
            "--policy", "round-robin,pd", "--prefill-pods", "1", "--decode-pods", "1", "--speedup", "20",
            "--limit", "8", "--warm-up", "4", "--prime-requests", "0",
            "--out", out.toString(), "--configs", Replay.defaultConfigs(Path.of("")).toString(), "--seed", "3"},
                new PrintStream(log));
        assertEquals(0, status, log.toString());
        Map<String, Object> pd = Json.parseObject(Files.readString(out.resolve("pd").resolve("summary.json")));
        assertEquals(0.0, pd.get("errors"), pd.toString());
        assertTrue((Double) pd.get("itl_p90_ms") > 0, pd.toString());
        @SuppressWarnings("unchecked")
        Map<String, Object> outcomes = (Map<String, Object>) pd.get("pd_requests_by_outcome");
        assertTrue((Double) outcomes.getOrDefault("prefill-decode", 0.0) > 0, "the decode pod pulled the KV: " + pd);
        assertTrue(outcomes.keySet().stream().noneMatch(k -> k.startsWith("fallback")), "no fallback: " + pd);
        List<String> pods = Files.readAllLines(out.resolve("pd").resolve("pods.csv"));
        assertTrue(Double.parseDouble(pods.get(1).split(",")[3]) > 8 * 2500,
                "the prefill pod computed the measured prompts: " + pods);
        List<String> aggregated = Files.readAllLines(out.resolve("round-robin").resolve("pods.csv"));
        assertEquals(3, aggregated.size(), "round-robin ran on the same 2 pods: " + aggregated);
    }

    @Test
    void aFailedRequestIsRecordedWithWhyTheGatewayAnsweredIt() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        String gone = "127.0.0.1:" + closedPort;
        try (GatewaySim g = GatewaySim.start(0, Map.of("m", "m"), List.of(new Pool("pool", "m", List.of(gone),
                new Pool.Balanced(Pool.Policy.ROUND_ROBIN, 1))))) {
            Replay.Settings s = new Replay.Settings(1, 20, 3, SimConfig.defaults("m"), Path.of(""), false, 10, 0,
                    "50ms", true);
            Report.Result r = Replay.drive(g.port(), List.of(new TraceRequest(0, "m", "hello", 4)), s).get(0);
            assertEquals(503, r.status());
            assertEquals("upstream-connect", r.error(), "the gateway's reason, not a pod's answer");
            assertTrue(r.detail().contains(gone), r.detail());
        }
    }

    /** No replayed policy beats the lower bound on the same fleet, percentile by percentile. */
    private static void assertAboveTheLowerBound(String policy, Map<String, Object> summary) {
        for (String p : List.of("p50", "p90", "p99")) {
            double ttft = (Double) summary.get("ttft_" + p + "_ms");
            double bound = (Double) summary.get("lower_bound_ttft_" + p + "_ms");
            assertTrue(bound > 0 && ttft >= bound, policy + " TTFT " + p + " " + ttft + " ms >= bound " + bound);
        }
        assertTrue((Double) summary.get("greedy_reference_ttft_p90_ms") > 0, policy);
    }

    @Test
    void theRunIsPrimedUnderEachEppPolicyBeforeAnyPolicyIsMeasured(@TempDir Path out) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int status = Replay.run(new String[] {
            "--trace", "gen:shared-prefix:groups=2,prefix=300,question=20,output=5,rate=20",
            "--policy", "round-robin,gaie-default,epp4j", "--pods", "2", "--speedup", "20", "--limit", "10",
            "--warm-up", "8", "--prime-requests", "7", "--out", out.toString(), "--engine-model", "lanes",
            "--configs", Replay.defaultConfigs(Path.of("")).toString(), "--seed", "3"}, new PrintStream(log));

        assertEquals(0, status, log.toString());
        String printed = log.toString();
        assertTrue(printed.indexOf("priming: the first 3 requests under gaie-default, epp4j") >= 0
                && printed.indexOf("priming:") < printed.indexOf("TTFT p50"),
                "the EPP policies share the priming requests, before the first policy is measured: " + printed);
        for (String policy : List.of("round-robin", "gaie-default", "epp4j")) {
            Map<String, Object> summary =
                    Json.parseObject(Files.readString(out.resolve(policy).resolve("summary.json")));
            assertEquals(6.0, summary.get("primed_requests"), policy);
            assertEquals(10.0, summary.get("requests"), policy + ": priming requests are not measured");
            assertAboveTheLowerBound(policy, summary);
        }
    }
}
