package io.epp4j.spi;

/**
 * Creates plugin instances of one type. Found with {@link java.util.ServiceLoader} (list implementations in
 * {@code META-INF/services/io.epp4j.spi.PluginFactory}), both on the class path and in jars placed in
 * {@code --plugins-dir}. Implementations need a public no-argument constructor.
 */
public interface PluginFactory {

    /** The type name used in the config's {@code plugins[].type}, kebab-case. */
    String type();

    /**
     * Creates one instance. Throws {@link IllegalArgumentException} with a message naming the parameter when the
     * parameters are invalid; the config loader reports it with the config line.
     */
    Plugin create(String name, PluginParameters parameters, PluginContext context);

    /** A factory from a type name and a constructor reference. */
    static PluginFactory of(String type, Creator creator) {
        return new PluginFactory() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public Plugin create(String name, PluginParameters parameters, PluginContext context) {
                return creator.create(name, parameters, context);
            }
        };
    }

    /** The shape of a plugin constructor. */
    @FunctionalInterface
    interface Creator {
        Plugin create(String name, PluginParameters parameters, PluginContext context);
    }
}
