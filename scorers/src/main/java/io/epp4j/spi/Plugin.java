package io.epp4j.spi;

/** Anything configured in an EndpointPickerConfig {@code plugins} entry. */
public interface Plugin {

    /** The plugin's type name, GAIE's kebab-case string (e.g. {@code queue-scorer}). */
    String type();

    /** The instance name from the config ({@code name}, defaulting to the type). */
    String name();
}
