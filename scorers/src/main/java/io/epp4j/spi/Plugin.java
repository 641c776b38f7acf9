package io.epp4j.spi;

/**
 * Anything configured in an EndpointPickerConfig {@code plugins} entry. Besides its names, a plugin tells the EPP
 * what it needs through capabilities: default methods a plugin overrides only when they apply, so the EPP never
 * checks for concrete classes.
 */
public interface Plugin {

    /** The plugin's type name, GAIE's kebab-case string (e.g. {@code queue-scorer}). */
    String type();

    /** The instance name from the config ({@code name}, defaulting to the type). */
    String name();

    /**
     * Capability: calls into this plugin may wait on I/O (for example a remote call with a deadline). The EPP then
     * runs decisions on threads that may block, so a slow service delays only the requests it is asked about.
     * Default: false, the plugin only computes.
     */
    default boolean blocksOnIo() {
        return false;
    }

    /**
     * Capability: on a config reload, takes over the state of {@code predecessor}, the plugin of the same name in
     * the configuration being replaced (for example a prefix index, so cache affinity survives the reload). Called
     * once, before this plugin serves any request; returns whether it took the state over. Default: takes nothing.
     */
    default boolean takeOver(Plugin predecessor) {
        return false;
    }

    /**
     * Capability: the type of the {@link DataProducer} whose data this plugin reads. When the configuration
     * declares no plugin of that type, the loader creates one with this plugin's parameters (GAIE v1.5.0 does so
     * for {@code prefix-cache-scorer}). Default: null, it needs none.
     */
    default String requiredProducerType() {
        return null;
    }

    /**
     * Capability: looks up the other plugins this one names in its parameters (a profile handler's deciders), once
     * every plugin of the configuration exists, whatever the declaration order. Throws
     * {@link IllegalArgumentException} naming the parameter when one is missing or of the wrong kind; the config
     * loader reports it with the plugin's line. Default: names none.
     */
    default void resolveReferences(PluginContext context) {
    }
}
