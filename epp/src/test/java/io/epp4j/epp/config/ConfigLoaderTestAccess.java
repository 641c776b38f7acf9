package io.epp4j.epp.config;

/** Lets tests in other packages read the config test resources. */
public final class ConfigLoaderTestAccess {

    private ConfigLoaderTestAccess() {
    }

    public static String resource(String name) {
        return ConfigLoaderTest.resource(name);
    }
}
