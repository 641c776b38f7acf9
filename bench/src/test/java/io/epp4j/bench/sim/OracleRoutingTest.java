package io.epp4j.bench.sim;

import io.epp4j.bench.BenchMain;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OracleRoutingTest {

    /** 30 ms + 0.25 ms per uncached token, 16-token blocks: a 1,600-token prompt prefills in 430 ms. */
    private static final SimConfig FLEET = SimConfig.defaults("base");
    private static final String A = text('a', 1600);
    private static final String B = text('b', 1600);

    private static String text(char c, int tokens) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < tokens * SimConfig.CHARS_PER_TOKEN; i++) {
            sb.append((char) (c + i % 7));
        }
        return sb.toString();
    }

    private static OracleRouting.Arrival at(long ms, String prompt) {
        return new OracleRouting.Arrival(ms, "base", prompt);
    }

    @Test
    void aRepeatedPromptIsServedFromThePodThatCachedIt() {
        OracleRouting.Result r = OracleRouting.route(List.of(at(0, A), at(0, B), at(10_000, A)), FLEET, 2);

        // B waits for nothing on the second pod; A's repeat costs only the overhead on the first
        assertArrayEquals(new double[] {430, 430, 30}, r.ttftMs(), 1e-9);
        assertEquals(1.0 / 3, r.prefixCacheHitRate(), 1e-9);
    }

    @Test
    void aCachedPrefixOutweighsAShortQueueButNotALongOne() {
        String followUp = A + text('c', 160);
        OracleRouting.Result r = OracleRouting.route(List.of(at(0, A), at(100, followUp), at(100, B)), FLEET, 2);

        // the follow-up waits 330 ms behind A and prefills 160 tokens (400 ms) rather than 1,760 tokens
        // elsewhere (470 ms); B would wait 400 ms behind both, so it takes the idle pod
        assertArrayEquals(new double[] {430, 400, 430}, r.ttftMs(), 1e-9);
    }

    @Test
    void aFullCacheEvictsTheTailOfTheLeastRecentPrompt() {
        SimConfig small = FLEET.withCapacity(16, 1000, 150); // room for 1.5 prompts of 100 blocks
        OracleRouting.Result r = OracleRouting.route(List.of(at(0, A), at(1_000, B), at(2_000, A)), small, 1);

        // B evicted A's last 50 blocks; A's first 800 tokens are still cached
        assertArrayEquals(new double[] {430, 430, 30 + 800 * 0.25}, r.ttftMs(), 1e-9);
    }

    @Test
    void aPromptLargerThanTheCacheIsRejectedLikeTheSimulatorDoes() {
        OracleRouting.Result r = OracleRouting.route(List.of(at(0, A), at(10, text('d', 16))),
                FLEET.withCapacity(16, 1000, 10), 2);

        assertEquals(1, r.rejected());
        assertArrayEquals(new double[] {30 + 16 * 0.25}, r.ttftMs(), 1e-9);
    }

    @Test
    void theOracleCommandPrintsPercentilesAndRejectsBadFlags() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = BenchMain.run(new String[] {"oracle", "--trace",
                "gen:shared-prefix:groups=2,prefix=400,question=20,output=5,rate=50", "--limit", "40"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        assertTrue(printed.contains("40 requests, 4 pods"), printed);
        assertTrue(printed.matches("(?s).*oracle +TTFT p50 +\\d+ ms +p90 +\\d+ ms +p99 +\\d+ ms +hit +\\d+\\.\\d%.*"),
                printed);
        assertEquals(2, BenchMain.run(new String[] {"oracle", "--trace", "gen:shared-prefix", "--pods", "0"},
                new PrintStream(out), new PrintStream(err)));
    }
}
