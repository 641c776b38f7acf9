package io.epp4j.epp;

/** The build's version, as reported in {@code inference_extension_info} and the start-up line. */
public final class Version {

    public static final String VERSION = resolve();

    private Version() {
    }

    private static String resolve() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }
}
