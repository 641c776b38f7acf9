package io.epp4j.epp.config;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.epp4j.epp.scheduling.TestPool;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jazzer over the EndpointPickerConfig loader ({@code --config-file}, {@code --config-text} and every reload): any
 * text either loads into a config the scheduler can run (a profile handler, at least one profile, each with a
 * picker) or fails with {@link ConfigException} naming the problem, never another exception (a reload would then
 * not be counted as rejected). One loader serves every input, as one serves every reload. Without
 * {@code JAZZER_FUZZ=1} it replays the committed seeds (part of {@code mvn verify}).
 */
class ConfigLoaderFuzzTest {

    private static final ConfigLoader LOADER = TestPool.loader(new PrometheusRegistry());

    @FuzzTest(maxDuration = "60s")
    @DictionaryEntries({"apiVersion: inference.networking.x-k8s.io/v1alpha1", "kind: EndpointPickerConfig",
            "plugins:", "- type: ", "  name: ", "  parameters:", "schedulingProfiles:", "- name: default",
            "  - pluginRef: ", "    weight: ", "featureGates:", "- flowControl", "flowControl:", "priorityBands:",
            "saturationDetector:", "dataLayer:", "parser:", "queue-scorer", "kv-cache-utilization-scorer",
            "prefix-cache-scorer", "max-score-picker", "random-picker", "single-profile-handler",
            "lora-affinity-scorer", "weighted-random-picker", "blockSize: ", "maxBytes: ", "&a ", "*a", "!!binary ",
            "<<: *a", "-1", "1e999", "NaN", "null", "~"})
    void anyConfigLoadsOrIsRejectedWithAConfigException(byte[] raw) {
        String yaml = new String(raw, StandardCharsets.UTF_8);
        LoadedConfig c;
        try {
            c = LOADER.load(yaml, "fuzz");
        } catch (ConfigException e) {
            assertNotNull(e.getMessage());
            assertFalse(e.getMessage().isBlank());
            assertTrue(e.line() >= 0);
            return;
        }
        try {
            assertNotNull(c.profileHandler());
            assertFalse(c.profiles().isEmpty(), "a loaded config has a profile");
            for (LoadedConfig.Profile p : c.profiles()) {
                assertNotNull(p.picker(), "profile " + p.name() + " has a picker");
                for (LoadedConfig.WeightedScorer s : p.scorers()) {
                    assertTrue(Double.isFinite(s.weight()), "weight of " + s.scorer());
                }
            }
        } finally {
            c.plugins().values().forEach(ConfigLoader::closeQuietly);
        }
    }
}
