package io.epp4j.bench.replay;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scoreboard's generated workloads have the shapes their documentation promises, and a seed fixes them. */
class GeneratorsTest {

    private static List<TraceRequest> load(String spec, int n, long seed) throws Exception {
        return Workloads.load(spec, n, seed, "m").requests();
    }

    private static int tokens(TraceRequest r) {
        return r.prompt().length() / 4;
    }

    private static double mean(List<TraceRequest> requests) {
        return requests.stream().mapToInt(GeneratorsTest::tokens).average().orElseThrow();
    }

    @Test
    void everyGeneratorIsFixedByItsSeedAndChangesWithIt() throws Exception {
        for (String name : Workloads.GENERATED) {
            List<TraceRequest> a = load("gen:" + name, 60, 7);
            assertEquals(60, a.size(), name);
            assertEquals(a, load("gen:" + name, 60, 7), name + ": same seed, same requests");
            assertNotEquals(a, load("gen:" + name, 60, 8), name + ": another seed, other requests");
            for (int i = 1; i < a.size(); i++) {
                assertTrue(a.get(i).arrivalMs() >= a.get(i - 1).arrivalMs(), name + ": in arrival order");
            }
        }
    }

    @Test
    void tenantsAreFourWithOneStandardTenantSendingFourTimesTheOthersRate() throws Exception {
        Workloads.Workload w = Workloads.load("gen:tenants", 7000, 42, "m");
        Map<String, Integer> byTenant = new HashMap<>();
        for (TraceRequest r : w.requests()) {
            byTenant.merge(r.headers().get("x-gateway-inference-fairness-id") + "/"
                    + r.headers().get("x-gateway-inference-objective"), 1, Integer::sum);
        }
        assertEquals(4, byTenant.size(), byTenant.toString());
        int heavy = byTenant.get("tenant-standard-heavy/standard");
        for (String other : List.of("tenant-critical/critical", "tenant-standard/standard",
                "tenant-sheddable/sheddable")) {
            double ratio = (double) heavy / byTenant.get(other);
            assertTrue(ratio > 3.5 && ratio < 4.5, other + ": 4x, got " + ratio);
        }
        assertEquals(Map.of("critical", 1, "standard", 0, "sheddable", -1),
                io.epp4j.epp.endpoints.ObjectivesFileWatcher.parse(w.objectives()),
                "the objectives the EPP is given: critical > 0, standard 0, sheddable < 0");
    }

    @Test
    void agenticSessionsGrowOnAFewHotToolPromptsToAbout21kTokens() throws Exception {
        List<TraceRequest> agentic = load("gen:agentic", 600, 42);
        double mean = mean(agentic);
        assertTrue(mean > 14_000 && mean < 28_000, "about 21,000 tokens on average: " + mean);
        // the tool prompts are the first block of each request: at most 6 distinct, the hottest far ahead
        Map<String, Integer> byTool = new HashMap<>();
        for (TraceRequest r : agentic) {
            byTool.merge(r.prompt().substring(0, 400), 1, Integer::sum);
        }
        assertTrue(byTool.size() <= 6, "six tool prompts: " + byTool.size());
        int hottest = byTool.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertTrue(hottest > agentic.size() / 3, "Zipf 1.2: the hottest prompt carries a large share: " + hottest);
        // some later turn re-sends an earlier turn's whole prompt and grows it
        boolean grows = false;
        for (int i = 0; i < agentic.size() && !grows; i++) {
            for (int j = i + 1; j < agentic.size() && !grows; j++) {
                grows = agentic.get(j).prompt().length() > agentic.get(i).prompt().length()
                        && agentic.get(j).prompt().startsWith(agentic.get(i).prompt());
            }
        }
        assertTrue(grows, "sessions grow turn by turn");
    }

    @Test
    void heavyTailSharesNothingAndHasALongTail() throws Exception {
        List<TraceRequest> heavy = load("gen:heavy-tail", 500, 42);
        long distinctStarts = heavy.stream().map(r -> r.prompt().substring(0, Math.min(64, r.prompt().length())))
                .distinct().count();
        assertEquals(heavy.size(), distinctStarts, "no two prompts share a beginning");
        int[] lengths = heavy.stream().mapToInt(GeneratorsTest::tokens).sorted().toArray();
        int median = lengths[lengths.length / 2];
        assertTrue(median > 600 && median < 1600, "median about 1,000 tokens: " + median);
        assertTrue(lengths[lengths.length * 99 / 100] > 8 * median, "p99 far above the median: "
                + lengths[lengths.length * 99 / 100]);
    }

    @Test
    void burstsArriveTogetherOnSharedPrefixes() throws Exception {
        List<TraceRequest> bursts = load("gen:bursts", 120, 42);
        // the first burst: 40 requests within 0.2 s
        assertTrue(bursts.get(39).arrivalMs() - bursts.get(0).arrivalMs() <= 200,
                "a burst arrives within its spread");
        long prefixes = bursts.stream().map(r -> r.prompt().substring(0, 12_000)).distinct().count();
        assertTrue(prefixes <= 8, "eight shared 3,000-token prefixes: " + prefixes);
    }

    @Test
    void decodeHeavyHasShortPromptsAndLongAnswers() throws Exception {
        List<TraceRequest> decode = load("gen:decode-heavy", 300, 42);
        assertTrue(mean(decode) < 400, "short prompts: " + mean(decode));
        double output = decode.stream().mapToInt(TraceRequest::outputTokens).average().orElseThrow();
        assertTrue(output > 250 && output < 350, "answers about 300 tokens: " + output);
    }

    @Test
    void ragSharesTheSystemPromptAndPopularDocumentsButRarelyAWholeContext() throws Exception {
        List<TraceRequest> rag = load("gen:rag", 400, 42);
        String system = rag.get(0).prompt().substring(0, 1200);
        assertTrue(rag.stream().allMatch(r -> r.prompt().startsWith(system)), "one system prompt for all");
        Map<String, Integer> firstDocument = new HashMap<>();
        for (TraceRequest r : rag) {
            firstDocument.merge(r.prompt().substring(1200, 3200), 1, Integer::sum);
        }
        assertTrue(firstDocument.size() > 10 && firstDocument.size() <= 40, "many of 40 documents lead: "
                + firstDocument.size());
        int hottest = firstDocument.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertTrue(hottest > rag.size() / 20, "Zipf popularity: the hottest document leads often: " + hottest);
        double mean = mean(rag);
        assertTrue(mean > 3_000 && mean < 12_000, "system + two documents + question: " + mean);
    }
}
