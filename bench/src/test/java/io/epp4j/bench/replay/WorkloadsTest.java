package io.epp4j.bench.replay;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkloadsTest {

    @Test
    void mooncakeHashIdsBecomeEqualTextPrefixes(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("t.jsonl");
        Files.writeString(trace, """
                {"timestamp": 0, "input_length": 1500, "output_length": 10, "hash_ids": [0, 1, 2]}
                {"timestamp": 5, "input_length": 1100, "output_length": 3, "hash_ids": [0, 1, 7]}
                {"timestamp": 9, "input_length": 600, "output_length": 3, "hash_ids": [9, 1]}
                """);
        List<TraceRequest> r = Workloads.load(trace.toString(), 10, 7, "m").requests();
        assertEquals(3, r.size());
        assertEquals(1500 * 4, r.get(0).prompt().length());
        assertEquals(1100 * 4, r.get(1).prompt().length());
        int block = Workloads.MOONCAKE_BLOCK_TOKENS * 4;
        assertEquals(r.get(0).prompt().substring(0, 2 * block), r.get(1).prompt().substring(0, 2 * block));
        assertNotEquals(r.get(0).prompt().substring(2 * block, 2 * block + 100), r.get(1).prompt().substring(2 * block, 2 * block + 100));
        assertNotEquals(r.get(0).prompt().substring(0, 100), r.get(2).prompt().substring(0, 100));
        assertEquals(5, r.get(1).arrivalMs());
        assertEquals(List.of(r.get(0).prompt()), List.of(Workloads.load(trace.toString(), 1, 7, "m").requests().get(0).prompt()),
                "deterministic for a seed");
    }

    @Test
    void theDefaultTraceIsTheRepositorysMooncakeTrace() throws Exception {
        Path trace = Workloads.defaultTrace(Path.of(""));
        assertTrue(trace.endsWith(Path.of("bench", "traces", "mooncake-conversation.jsonl")), trace.toString());
        try (var lines = Files.lines(trace)) {
            assertEquals(12_031, lines.count(), "the whole published trace");
        }
        Workloads.Workload w = Workloads.load(trace.toString(), 2, 42, "m");
        assertEquals("mooncake", w.name());
        assertEquals(6758 * 4, w.requests().get(0).prompt().length(), "first request: input_length 6758");
        assertEquals(7322 * 4, w.requests().get(1).prompt().length(), "second request: input_length 7322");
        int block = Workloads.MOONCAKE_BLOCK_TOKENS * 4;
        assertEquals(w.requests().get(0).prompt().substring(0, block), w.requests().get(1).prompt().substring(0, block),
                "both start with hash id 0");
    }

    @Test
    void generatedWorkloadsShareWhatTheyClaimToShare() throws Exception {
        List<TraceRequest> shared = Workloads.load("gen:shared-prefix:groups=1,prefix=100,question=10", 5, 1, "m").requests();
        assertEquals(shared.get(0).prompt().substring(0, 400), shared.get(4).prompt().substring(0, 400));
        List<TraceRequest> chat = Workloads.load("gen:multi-turn:sessions=1,system=50,question=20,output=10", 3, 1, "m").requests();
        assertTrue(chat.get(1).prompt().startsWith(chat.get(0).prompt()), "each turn extends the history");
        Workloads.Workload lora = Workloads.load("gen:lora-mix:adapters=3", 50, 1, "base");
        assertEquals(List.of("adapter-0", "adapter-1", "adapter-2"), lora.loras());
        assertTrue(lora.requests().stream().allMatch(t -> lora.loras().contains(t.model())));
    }
}
