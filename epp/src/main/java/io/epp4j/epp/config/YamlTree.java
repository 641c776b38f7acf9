package io.epp4j.epp.config;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Strict reading of a YAML node tree, with line numbers in every error. */
final class YamlTree {

    private YamlTree() {
    }

    static Node parse(String text) throws ConfigException {
        try {
            LoadSettings settings = LoadSettings.builder().setAllowDuplicateKeys(false).setLabel("config").build();
            return new Compose(settings).composeString(text).orElse(null);
        } catch (MarkedYamlEngineException e) {
            int line = e.getProblemMark().map(m -> m.getLine() + 1).orElse(0);
            throw new ConfigException(line, "", "invalid YAML: " + e.getProblem());
        } catch (YamlEngineException e) {
            throw new ConfigException(0, "", "invalid YAML: " + e.getMessage());
        }
    }

    static int line(Node node) {
        return node == null ? 0 : node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    /** The entries of a mapping node; rejects keys outside {@code allowed} and duplicate keys. */
    static Map<String, Node> mapping(Node node, String field, Set<String> allowed) throws ConfigException {
        if (!(node instanceof MappingNode mapping)) {
            throw new ConfigException(line(node), field, "must be a mapping");
        }
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : mapping.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode key)) {
                throw new ConfigException(line(t.getKeyNode()), field, "keys must be strings");
            }
            String k = key.getValue();
            String path = field.isEmpty() ? k : field + "." + k;
            if (allowed != null && !allowed.contains(k)) {
                throw new ConfigException(line(key), path, "unknown field (allowed: " + String.join(", ",
                        new java.util.TreeSet<>(allowed)) + ")");
            }
            if (out.put(k, t.getValueNode()) != null) {
                throw new ConfigException(line(key), path, "duplicate field");
            }
        }
        return out;
    }

    static List<Node> sequence(Node node, String field) throws ConfigException {
        if (isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode seq)) {
            throw new ConfigException(line(node), field, "must be a list");
        }
        return seq.getValue();
    }

    static boolean isNull(Node node) {
        return node == null || (node instanceof ScalarNode s && s.getTag().equals(Tag.NULL));
    }

    static String string(Node node, String field) throws ConfigException {
        if (!(node instanceof ScalarNode s) || s.getTag().equals(Tag.NULL)) {
            throw new ConfigException(line(node), field, "must be a string");
        }
        return s.getValue();
    }

    static boolean bool(Node node, String field) throws ConfigException {
        if (node instanceof ScalarNode s && s.getTag().equals(Tag.BOOL)) {
            return Boolean.parseBoolean(s.getValue().toLowerCase(java.util.Locale.ROOT));
        }
        throw new ConfigException(line(node), field, "must be true or false");
    }

    static double number(Node node, String field) throws ConfigException {
        if (node instanceof ScalarNode s && (s.getTag().equals(Tag.INT) || s.getTag().equals(Tag.FLOAT))) {
            try {
                return Double.parseDouble(s.getValue());
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw new ConfigException(line(node), field, "must be a number");
    }

    /** Plain Java values: String, Long, Double, Boolean, null, List, Map. */
    static Object plain(Node node, String field) throws ConfigException {
        if (node == null) {
            return null;
        }
        if (node instanceof ScalarNode s) {
            Tag tag = s.getTag();
            String v = s.getValue();
            try {
                if (tag.equals(Tag.NULL)) {
                    return null;
                } else if (tag.equals(Tag.BOOL)) {
                    return Boolean.parseBoolean(v.toLowerCase(java.util.Locale.ROOT));
                } else if (tag.equals(Tag.INT)) {
                    return Long.decode(v.replace("_", "").replaceFirst("^0o", "0"));
                } else if (tag.equals(Tag.FLOAT)) {
                    return Double.parseDouble(v);
                }
            } catch (NumberFormatException e) {
                return v;
            }
            return v;
        }
        if (node instanceof SequenceNode seq) {
            List<Object> out = new ArrayList<>();
            int i = 0;
            for (Node n : seq.getValue()) {
                out.add(plain(n, field + "[" + i++ + "]"));
            }
            return out;
        }
        Map<String, Node> entries = mapping(node, field, null);
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Node> e : entries.entrySet()) {
            out.put(e.getKey(), plain(e.getValue(), field + "." + e.getKey()));
        }
        return out;
    }
}
