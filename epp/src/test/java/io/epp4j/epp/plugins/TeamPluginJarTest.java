package io.epp4j.epp.plugins;

import io.epp4j.epp.config.ConfigException;
import io.epp4j.epp.scheduling.SchedulerFactory;
import io.epp4j.epp.scheduling.SchedulingEngine;
import io.epp4j.epp.scheduling.TestPool;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.EndpointInfo;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.ResponseUsage;
import io.epp4j.epp.director.ScheduledRequest;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Builds the sample team plugin (test resources {@code sample-plugin/}) into a jar in a temp dir, as a team would
 * with its own build, and loads it through {@code --plugins-dir} without rebuilding epp4j.
 */
class TeamPluginJarTest {

    static final String CONFIG = """
            apiVersion: inference.networking.x-k8s.io/v1alpha1
            kind: EndpointPickerConfig
            plugins:
            - name: gpu
              type: gpu-tier-scorer
              parameters:
                tiers: {h100: 1.0, a100: 0.5}
            - type: queue-scorer
            schedulingProfiles:
            - name: default
              plugins:
              - pluginRef: gpu
                weight: 4
              - pluginRef: queue-scorer
                weight: 1
            """;

    static Path buildSampleJar(Path work) throws IOException, URISyntaxException {
        Path project = Path.of(TeamPluginJarTest.class.getResource("/sample-plugin/pom.xml").toURI()).getParent();
        Path classes = Files.createDirectories(work.resolve("classes"));
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "--release", "17",
                "-cp", Path.of(io.epp4j.spi.Plugin.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                        .toString()));
        try (Stream<Path> sources = Files.walk(project.resolve("src/main/java"))) {
            sources.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)), "sample plugin compiles");
        Path pluginsDir = Files.createDirectories(work.resolve("plugins"));
        Path jar = pluginsDir.resolve("gpu-tier-scorer-1.0.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Stream.concat(Files.walk(classes), Files.walk(project.resolve("src/main/resources")))) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                Path root = p.startsWith(classes) ? classes : project.resolve("src/main/resources");
                out.putNextEntry(new JarEntry(root.relativize(p).toString().replace('\\', '/')));
                try (OutputStream ignored = null) {
                    out.write(Files.readAllBytes(p));
                }
                out.closeEntry();
            }
        }
        return pluginsDir;
    }

    static Endpoint ep(int i, String tier, int queue) {
        Endpoint base = TestPool.endpoint(i, queue, 0);
        EndpointInfo info = base.info();
        return new Endpoint(new EndpointInfo(info.name(), info.namespace(), info.podName(), info.ip(), info.port(),
                Map.of("gpu-tier", tier)), base.metrics(), 0, 0);
    }

    @TempDir
    static Path work;
    static Path pluginsDir;

    @org.junit.jupiter.api.BeforeAll
    static void build() throws Exception {
        pluginsDir = buildSampleJar(work);
    }

    @Test
    void teamPluginJarInPluginsDirScoresWithoutRebuildingEpp4j() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (SchedulingEngine engine = SchedulerFactory.fromOptions(null, CONFIG, pluginsDir, registry,
                TestPool.CLOCK, 1, Duration.ZERO)) {
            assertEquals("gpu-tier-scorer", engine.config().plugins().get("gpu").type());
            // the h100 has a longer queue, but the tier weight (4) dominates the queue weight (1)
            List<Endpoint> pool = List.of(ep(1, "a100", 0), ep(2, "h100", 3), ep(3, "t4", 0));
            InferenceRequest r = TestPool.request("t", "p", 0, Map.of());
            ScheduledRequest scheduled = engine.schedule(r, pool);
            assertEquals(pool.get(1), scheduled.result().primary());
            scheduled.onComplete(ResponseUsage.NONE, true);
            assertTrue(TestPool.scrape(registry).contains("plugin_type=\"gpu-tier-scorer\""));
        }
    }

    @Test
    void withoutThePluginsDirTheTypeIsUnknown() {
        ConfigException e = assertThrows(ConfigException.class, () -> SchedulerFactory.fromOptions(null, CONFIG,
                null, new PrometheusRegistry(), TestPool.CLOCK, 1, Duration.ZERO));
        assertTrue(e.getMessage().contains("line 5: plugins[0].type: unknown plugin type 'gpu-tier-scorer'"),
                e.getMessage());
    }

    @Test
    void badTeamPluginParametersNameTheField() {
        ConfigException e = assertThrows(ConfigException.class, () -> SchedulerFactory.fromOptions(null,
                CONFIG.replace("h100: 1.0", "h100: 7"), pluginsDir, new PrometheusRegistry(), TestPool.CLOCK, 1,
                Duration.ZERO));
        assertTrue(e.getMessage().contains("plugins[0].parameters: parameter 'tiers.h100'"), e.getMessage());
    }
}
