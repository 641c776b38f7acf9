package io.epp4j.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The chart under test: renders it with helm-java (Helm as a library, no cluster, no network) and lints it.
 * Each call is independent; values are given the way users give them, as {@code --set} pairs and values files.
 */
final class Chart {

    static final Path CHART_DIR = Paths.get("inferencepool");
    static final Path BBR_CHART_DIR = Paths.get("body-based-routing");
    static final Path WORK_DIR = Paths.get("target", "chart-tests");
    private static final AtomicInteger LINT_RUNS = new AtomicInteger();

    private final Path chartDir;
    private final String release;
    private final String namespace;
    private final Map<String, Object> sets = new LinkedHashMap<>();
    private final List<Path> valuesFiles = new ArrayList<>();

    private Chart(Path chartDir, String release, String namespace) {
        this.chartDir = chartDir;
        this.release = release;
        this.namespace = namespace;
    }

    /** A release with the one value the chart requires (the model-server pod labels) already set. */
    static Chart release(String release, String namespace) {
        return bare(release, namespace).set("inferencePool.modelServers.matchLabels.app", release);
    }

    /** A release with no values at all beyond the chart's defaults. */
    static Chart bare(String release, String namespace) {
        return new Chart(CHART_DIR, release, namespace);
    }

    /** A release of the body-based-routing chart with its defaults. */
    static Chart bodyBasedRouting(String release, String namespace) {
        return new Chart(BBR_CHART_DIR, release, namespace);
    }

    Chart set(String key, Object value) {
        sets.put(key, value);
        return this;
    }

    Chart values(String yaml) {
        try {
            Files.createDirectories(WORK_DIR);
            Path file = Files.createTempFile(WORK_DIR, "values-", ".yaml");
            Files.writeString(file, yaml);
            valuesFiles.add(file);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code helm template}; throws IllegalStateException with Helm's message when rendering or the schema fails. */
    Rendered render() {
        TemplateCommand template = new Helm(chartDir).template().withName(release).withNamespace(namespace);
        for (Path file : valuesFiles) {
            template = template.withValuesFile(file);
        }
        for (Map.Entry<String, Object> set : sets.entrySet()) {
            template = template.set(set.getKey(), set.getValue());
        }
        return new Rendered(template.call());
    }

    /**
     * {@code helm lint --strict} with these values. helm-java's lint takes no values, so the chart is copied and
     * its values.yaml replaced by the defaults merged with this release's values.
     */
    LintResult lint() {
        try {
            Path copy = WORK_DIR.resolve("lint-" + LINT_RUNS.incrementAndGet())
                    .resolve(chartDir.getFileName().toString());
            copyTree(chartDir, copy);
            Map<String, Object> merged = yamlMap(Files.readString(chartDir.resolve("values.yaml")));
            for (Path file : valuesFiles) {
                deepMerge(merged, yamlMap(Files.readString(file)));
            }
            for (Map.Entry<String, Object> set : sets.entrySet()) {
                putPath(merged, set.getKey(), set.getValue());
            }
            Files.writeString(copy.resolve("values.yaml"), Serialization.asYaml(merged));
            return new Helm(copy).lint().strict().call();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> yamlMap(String yaml) {
        Map<String, Object> map = Serialization.unmarshal(yaml, Map.class);
        return map == null ? new LinkedHashMap<>() : new LinkedHashMap<>(map);
    }

    @SuppressWarnings("unchecked")
    private static void deepMerge(Map<String, Object> target, Map<String, Object> overlay) {
        overlay.forEach((key, value) -> {
            if (value instanceof Map && target.get(key) instanceof Map) {
                Map<String, Object> nested = new LinkedHashMap<>((Map<String, Object>) target.get(key));
                deepMerge(nested, (Map<String, Object>) value);
                target.put(key, nested);
            } else {
                target.put(key, value);
            }
        });
    }

    @SuppressWarnings("unchecked")
    private static void putPath(Map<String, Object> root, String dottedKey, Object value) {
        String[] parts = dottedKey.split("\\.");
        Map<String, Object> current = root;
        for (int i = 0; i < parts.length - 1; i++) {
            Object next = current.get(parts[i]);
            Map<String, Object> copy = next instanceof Map ? new LinkedHashMap<>((Map<String, Object>) next)
                    : new LinkedHashMap<>();
            current.put(parts[i], copy);
            current = copy;
        }
        current.put(parts[parts.length - 1], value);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path source : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** The objects of one {@code helm template} run, parsed by fabric8 into typed objects where it knows the kind. */
    static final class Rendered {
        final String yaml;
        final List<HasMetadata> objects = new ArrayList<>();

        Rendered(String yaml) {
            this.yaml = yaml;
            for (String document : yaml.split("(?m)^---\\s*$")) {
                if (document.lines().allMatch(line -> line.isBlank() || line.stripLeading().startsWith("#"))) {
                    continue;
                }
                objects.add(Serialization.unmarshal(document, HasMetadata.class));
            }
        }

        <T extends HasMetadata> T get(Class<T> type, String name) {
            return objects.stream()
                    .filter(type::isInstance)
                    .filter(o -> o.getMetadata().getName().equals(name))
                    .map(type::cast)
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in:\n" + kinds()));
        }

        /** Any object as a generic resource, for path lookups ({@code get("spec", "rules", 0, ...)}). */
        GenericKubernetesResource generic(String kind, String name) {
            return objects.stream()
                    .filter(o -> o.getKind().equals(kind) && o.getMetadata().getName().equals(name))
                    .map(o -> o instanceof GenericKubernetesResource generic ? generic
                            : Serialization.unmarshal(Serialization.asJson(o), GenericKubernetesResource.class))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in:\n" + kinds()));
        }

        List<HasMetadata> ofKind(String kind) {
            return objects.stream().filter(o -> o.getKind().equals(kind)).toList();
        }

        List<String> kinds() {
            return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).sorted().toList();
        }
    }
}
