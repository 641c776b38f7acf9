package io.epp4j.helm;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** values.schema.json and the template checks: mistakes fail at install time with a message naming the key. */
class ValuesSchemaTest {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "inferenceExtention.replicas          | 2               | inferenceExtention",
            "inferenceExtension.replica           | 2               | replica",
            "inferencePool.targetPortNumber       | 8000            | targetPortNumber",
            "provider.nmae                        | istio           | nmae",
            "experimentalHttpRoute.baseModelName  | x               | baseModelName",
            "inferencePool.modelServerType        | foo             | modelServerType",
            "inferencePool.modelServerProtocol    | tcp             | modelServerProtocol",
            "provider.name                        | envoy           | name",
            "inferenceExtension.failureMode       | FailClosed      | failureMode",
            "inferenceExtension.replicas          | 0               | replicas",
            "inferencePool.targetPorts[0].number  | 70000           | number",
            "inferenceExtension.metricsDataSource.scheme | ftp      | scheme",
            "experimentalHttpRoute.requestTimeout | five minutes    | requestTimeout"})
    void schemaRejectsTyposAndBadValues(String key, String value, String named) {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> Chart.release("pool", "llm").set(key, value).render());
        assertTrue(error.getMessage().contains("schema") && error.getMessage().contains(named), error.getMessage());
    }

    @Test
    void missingMatchLabelsFailsTheInstall() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> Chart.bare("pool", "llm").render());
        assertTrue(error.getMessage().contains("modelServers"), error.getMessage());
    }

    @Test
    void emptyMatchLabelsFailsTheInstall() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> Chart.bare("pool", "llm").values("inferencePool: {modelServers: {matchLabels: {}}}").render());
        assertTrue(error.getMessage().contains("matchLabels"), error.getMessage());
    }

    @Test
    void latencyPredictorFailsWithAnExplanation() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> Chart.release("pool", "llm").set("inferenceExtension.latencyPredictor.enabled", true).render());
        assertTrue(error.getMessage().contains("epp4j has no latency predictor"), error.getMessage());
    }

    @Test
    void lintFailsOnAnUnknownKey() {
        var lint = Chart.release("pool", "llm").set("inferenceExtension.replica", 2).lint();
        assertTrue(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }

    @Test
    void lintFailsWithoutMatchLabels() {
        var lint = Chart.bare("pool", "llm").lint();
        assertTrue(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    }
}
