package io.epp4j.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** inferenceExtension.pluginsCustomConfig + pluginsConfigFile: the user's own scheduler configuration. */
class CustomPluginsConfigTest {

    static final String CUSTOM_VALUES = """
            inferencePool:
              modelServers:
                matchLabels:
                  app: pool
            inferenceExtension:
              pluginsConfigFile: queue-only.yaml
              pluginsCustomConfig:
                queue-only.yaml: |
                  apiVersion: inference.networking.x-k8s.io/v1alpha1
                  kind: EndpointPickerConfig
                  plugins:
                  - type: queue-scorer
                  - type: max-score-picker
                  schedulingProfiles:
                  - name: default
                    plugins:
                    - pluginRef: queue-scorer
                      weight: 1
                    - pluginRef: max-score-picker
            """;

    @Test
    void customFileIsAddedToTheConfigMapAndLoadedByTheEpp() {
        Chart.Rendered rendered = Chart.bare("pool", "llm").values(CUSTOM_VALUES).render();

        Map<String, String> data = rendered.get(ConfigMap.class, "pool-epp").getData();
        assertEquals(java.util.Set.of("default-plugins.yaml", "queue-only.yaml"), data.keySet());
        Map<String, Object> custom = Chart.yamlMap(data.get("queue-only.yaml"));
        assertEquals("EndpointPickerConfig", custom.get("kind"));
        assertEquals(List.of(Map.of("type", "queue-scorer"), Map.of("type", "max-score-picker")), custom.get("plugins"));

        List<String> args = DefaultValuesTest.eppContainer(rendered, "pool-epp").getArgs();
        int configFlag = args.indexOf("--config-file");
        assertEquals("/config/queue-only.yaml", args.get(configFlag + 1));
    }

    @Test
    void customFileGivenAsYamlMapIsRenderedAsText() {
        Chart.Rendered rendered = Chart.release("pool", "llm")
                .set("inferenceExtension.pluginsCustomConfig.mine\\.yaml.kind", "EndpointPickerConfig")
                .set("inferenceExtension.pluginsConfigFile", "mine.yaml")
                .render();
        String text = rendered.get(ConfigMap.class, "pool-epp").getData().get("mine.yaml");
        assertEquals(Map.of("kind", "EndpointPickerConfig"), Chart.yamlMap(text));
    }

    @Test
    void configChangeRollsThePods() {
        String defaultChecksum = checksum(Chart.release("pool", "llm").render());
        String customChecksum = checksum(Chart.bare("pool", "llm").values(CUSTOM_VALUES).render());
        assertFalse(defaultChecksum.equals(customChecksum));
    }

    @Test
    void configFileThatIsNotInTheConfigMapFailsTheInstall() {
        IllegalStateException error = assertThrows(IllegalStateException.class, () -> Chart.release("pool", "llm")
                .set("inferenceExtension.pluginsConfigFile", "missing.yaml").render());
        assertTrue(error.getMessage().contains("pluginsConfigFile is \"missing.yaml\""), error.getMessage());
    }

    @Test
    void customConfigLints() {
        var lint = Chart.bare("pool", "llm").values(CUSTOM_VALUES).lint();
        assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    private static String checksum(Chart.Rendered rendered) {
        return rendered.get(io.fabric8.kubernetes.api.model.apps.Deployment.class, "pool-epp").getSpec().getTemplate()
                .getMetadata().getAnnotations().get("checksum/config");
    }
}
