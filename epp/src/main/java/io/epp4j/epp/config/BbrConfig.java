package io.epp4j.epp.config;

import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The body-based router's config ({@code --mode bbr}): a list of plugin instances shaped like an
 * EndpointPickerConfig's {@code plugins}, with GAIE's BBR plugin type names. Only the shape is read here; the
 * plugin types and their parameters are checked where the plugins are built.
 *
 * <pre>
 * plugins:
 * - type: body-field-to-header
 *   name: model-header            # optional, default the type
 *   parameters: {fieldName: model, headerName: X-Gateway-Model-Name}
 * - type: base-model-to-header
 * </pre>
 *
 * @param plugins the instances in order
 */
public record BbrConfig(List<Plugin> plugins) {

    /** One plugin instance; {@code line} is where it was declared (0 when built in code). */
    public record Plugin(String type, String name, Map<String, String> parameters, int line) {
    }

    private static final Set<String> TOP = Set.of("apiVersion", "kind", "plugins");
    private static final Set<String> PLUGIN = Set.of("type", "name", "parameters");

    /** Parses the config text; throws with the line and field of the first problem. */
    public static BbrConfig parse(String text) throws ConfigException {
        Node root = YamlTree.parse(text);
        if (YamlTree.isNull(root)) {
            return new BbrConfig(List.of());
        }
        Map<String, Node> top = YamlTree.mapping(root, "", TOP);
        List<Plugin> plugins = new ArrayList<>();
        List<Node> list = YamlTree.sequence(top.get("plugins"), "plugins");
        Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String field = "plugins[" + i + "]";
            Map<String, Node> entry = YamlTree.mapping(list.get(i), field, PLUGIN);
            if (!entry.containsKey("type")) {
                throw new ConfigException(YamlTree.line(list.get(i)), field + ".type", "is required");
            }
            String type = YamlTree.string(entry.get("type"), field + ".type");
            String name = entry.containsKey("name") ? YamlTree.string(entry.get("name"), field + ".name") : type;
            if (!names.add(name)) {
                throw new ConfigException(YamlTree.line(list.get(i)), field + ".name",
                        "duplicate plugin name \"" + name + "\"");
            }
            Map<String, String> parameters = new LinkedHashMap<>();
            Node params = entry.get("parameters");
            if (!YamlTree.isNull(params)) {
                for (Map.Entry<String, Node> p : YamlTree.mapping(params, field + ".parameters", null).entrySet()) {
                    if (!(p.getValue() instanceof ScalarNode)) {
                        throw new ConfigException(YamlTree.line(p.getValue()),
                                field + ".parameters." + p.getKey(), "must be a string");
                    }
                    parameters.put(p.getKey(), ((ScalarNode) p.getValue()).getValue());
                }
            }
            plugins.add(new Plugin(type, name, Map.copyOf(parameters), YamlTree.line(list.get(i))));
        }
        return new BbrConfig(List.copyOf(plugins));
    }

    /**
     * Reads a flat YAML map of strings, one {@code key: value} a line, e.g. a {@code --base-model-map} file
     * ({@code model-or-adapter: base-model}). An empty document is an empty map.
     */
    public static Map<String, String> parseFlatMap(String text) throws ConfigException {
        Node root = YamlTree.parse(text);
        if (YamlTree.isNull(root)) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Node> e : YamlTree.mapping(root, "", null).entrySet()) {
            if (!(e.getValue() instanceof ScalarNode s) || YamlTree.isNull(s) || s.getValue().isEmpty()) {
                throw new ConfigException(YamlTree.line(e.getValue()), e.getKey(), "must be a non-empty string");
            }
            out.put(e.getKey(), s.getValue());
        }
        return Map.copyOf(out);
    }
}
