package io.epp4j.scorers.topology;

/**
 * Where an endpoint runs, from its pod's labels; a field is "" when unknown. Immutable.
 *
 * @param hostname the host (the NVLink domain of switched 8-GPU baseboards)
 * @param rack the rack
 * @param zone the failure-domain zone
 * @param region the region
 */
public record Topology(String hostname, String rack, String zone, String region) {

    public static final Topology UNKNOWN = new Topology("", "", "", "");

    /** How close two endpoints are, tightest first. */
    public enum Level {
        HOST, RACK, ZONE, REGION, NONE;

        /** The level a config names ({@code host}, {@code rack}, {@code zone}, {@code region}). */
        static Level parse(String value) {
            return switch (value) {
                case "host" -> HOST;
                case "rack" -> RACK;
                case "zone" -> ZONE;
                case "region" -> REGION;
                default -> throw new IllegalArgumentException(
                        "parameter 'minAffinity' must be host, rack, zone or region, got '" + value + "'");
            };
        }
    }

    /** True when no field is known. */
    public boolean unknown() {
        return hostname.isEmpty() && rack.isEmpty() && zone.isEmpty() && region.isEmpty();
    }

    /**
     * The tightest level this and {@code other} share. A same host implies the same rack, zone and region; a
     * missing value never matches, not even another missing value.
     */
    public Level shared(Topology other) {
        if (same(hostname, other.hostname)) {
            return Level.HOST;
        } else if (same(rack, other.rack)) {
            return Level.RACK;
        } else if (same(zone, other.zone)) {
            return Level.ZONE;
        } else if (same(region, other.region)) {
            return Level.REGION;
        }
        return Level.NONE;
    }

    private static boolean same(String a, String b) {
        return !a.isEmpty() && a.equals(b);
    }
}
