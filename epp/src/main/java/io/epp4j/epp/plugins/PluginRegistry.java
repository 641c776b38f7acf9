package io.epp4j.epp.plugins;

import io.epp4j.epp.precise.PrecisePrefixPlugins;
import io.epp4j.scorers.BuiltinPlugins;
import io.epp4j.spi.PluginFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Plugin factories by type name: the built-ins, the epp-only ones (e.g. {@code remote-scorer}), every
 * {@link PluginFactory} on the class path found by {@link ServiceLoader}, and those in the jars of a plugins
 * directory ({@code --plugins-dir}), loaded with their own class loader. A type defined twice is a start-up error.
 */
public final class PluginRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(PluginRegistry.class);

    private final Map<String, PluginFactory> factories;

    private PluginRegistry(Map<String, PluginFactory> factories) {
        this.factories = Map.copyOf(factories);
    }

    /** Built-ins and class-path plugins only. */
    public static PluginRegistry standard() {
        return create(null);
    }

    /**
     * Built-ins, class-path plugins and the jars in {@code pluginsDir} (null or absent ⇒ none).
     *
     * @throws IllegalStateException when the directory cannot be read or two factories claim one type
     */
    public static PluginRegistry create(Path pluginsDir) {
        Map<String, PluginFactory> map = new LinkedHashMap<>();
        for (PluginFactory f : BuiltinPlugins.factories()) {
            map.put(f.type(), f);
        }
        map.put(RemoteScorer.TYPE, PluginFactory.of(RemoteScorer.TYPE, RemoteScorer::new));
        map.put(RequestAttributeReporter.TYPE, PluginFactory.of(RequestAttributeReporter.TYPE,
                (n, p, c) -> new RequestAttributeReporter(n, p)));
        for (PluginFactory f : PrecisePrefixPlugins.factories()) {
            map.put(f.type(), f);
        }
        ClassLoader loader = PluginRegistry.class.getClassLoader();
        if (pluginsDir != null && Files.isDirectory(pluginsDir)) {
            loader = new URLClassLoader(jarUrls(pluginsDir), loader);
        }
        for (PluginFactory f : ServiceLoader.load(PluginFactory.class, loader)) {
            PluginFactory previous = map.get(f.type());
            if (previous != null && previous.getClass() != f.getClass()) {
                throw new IllegalStateException("plugin type '" + f.type() + "' is defined twice: by "
                        + previous.getClass().getName() + " and " + f.getClass().getName());
            }
            map.put(f.type(), f);
            LOG.info("loaded plugin type {} from {}", f.type(), f.getClass().getName());
        }
        return new PluginRegistry(map);
    }

    private static URL[] jarUrls(Path dir) {
        List<URL> urls = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                if (p.getFileName().toString().endsWith(".jar")) {
                    urls.add(p.toUri().toURL());
                }
            }
        } catch (MalformedURLException e) {
            throw new IllegalStateException("bad plugin jar path: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read plugins dir " + dir + ": " + e.getMessage(), e);
        }
        return urls.toArray(URL[]::new);
    }

    /**
     * A copy in which {@code factory} builds its type instead (tools that run the EPP's plugins somewhere else,
     * such as the virtual-time simulator tokenizing in process).
     */
    public PluginRegistry replacing(PluginFactory factory) {
        Map<String, PluginFactory> map = new LinkedHashMap<>(factories);
        map.put(factory.type(), factory);
        return new PluginRegistry(map);
    }

    public Optional<PluginFactory> factory(String type) {
        return Optional.ofNullable(factories.get(type));
    }

    public Set<String> types() {
        return factories.keySet();
    }
}
