package io.epp4j.epp.endpoints;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ObjectivesFileWatcherTest {

    static final String OBJECTIVES = """
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: critical, namespace: default}
            spec:
              priority: 10
              poolRef: {name: vllm-pool}
            ---
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: batch}
            spec: {priority: -5, poolRef: {name: vllm-pool}}
            ---
            apiVersion: inference.networking.x-k8s.io/v1alpha2
            kind: InferenceObjective
            metadata: {name: unset}
            spec: {poolRef: {name: vllm-pool}}
            ---
            """;

    @Test
    void readsEveryDocumentOfTheCrdsYaml() {
        assertEquals(Map.of("critical", 10, "batch", -5, "unset", 0), ObjectivesFileWatcher.parse(OBJECTIVES));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "kind: InferenceModel|document 1: want apiVersion",
        "metadata: {}|document 1: metadata.name is required",
        "spec: {priority: high}|spec.priority must be an integer",
        "metadata: {name: [|document 1:"})
    void rejectsWhatIsNotAnInferenceObjective(String change, String message) {
        String doc = "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\n"
                + "metadata: {name: a}\n";
        String key = change.substring(0, change.indexOf(':'));
        String text = doc.lines().filter(l -> !l.startsWith(key + ":")).reduce("", (a, b) -> a + b + "\n")
                + change + "\n";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ObjectivesFileWatcher.parse(text));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void duplicateNamesAreRejected() {
        String one = OBJECTIVES.substring(0, OBJECTIVES.indexOf("---"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ObjectivesFileWatcher.parse(one + "---\n" + one));
        assertTrue(e.getMessage().contains("duplicate InferenceObjective critical"), e.getMessage());
    }

    @Test
    void followsTheFileAndKeepsTheLastGoodContentOnError(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("objectives.yaml"), OBJECTIVES);
        try (ObjectivesFileWatcher w = ObjectivesFileWatcher.start(file, Duration.ofMillis(20))) {
            assertEquals(10, w.priorityOf("critical"));
            assertEquals(0, w.priorityOf("nobody"));
            Files.writeString(file, OBJECTIVES.replace("priority: 10", "priority: 20"));
            io.epp4j.epp.extproc.Await.until("reloaded", () -> w.priorityOf("critical") == 20);
            Files.writeString(file, "kind: nonsense\n");
            Thread.sleep(100); // a few polls: the bad content must not replace the good
            assertEquals(20, w.priorityOf("critical"));
        }
        Files.writeString(file, "kind: nonsense\n");
        assertThrows(IOException.class, () -> ObjectivesFileWatcher.start(file, Duration.ofSeconds(1)));
    }
}
