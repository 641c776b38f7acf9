package io.epp4j.epp.config;

import io.epp4j.spi.FairnessPolicy;
import io.epp4j.spi.SaturationDetector;
import io.epp4j.spi.UsageLimitPolicy;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code flowControl} section of an EndpointPickerConfig with GAIE v1.5.0's defaults applied, present only when
 * the {@code flowControl} feature gate is on. Immutable; a reload produces a new one.
 *
 * @param maxBytes global limit on queued request bytes, 0 = none
 * @param maxRequests global limit on queued requests, 0 = none
 * @param defaultRequestTtl how long a request may wait in a queue while the pool has endpoints;
 *     {@link Duration#ZERO} = until the gateway gives up
 * @param defaultBand the template for priorities without a band of their own (its priority is ignored)
 * @param bands the configured bands by priority
 * @param usageLimitThreshold the {@code static-usage-limit-policy} ceiling: nothing is dispatched while the pool's
 *     saturation is at or above it (1.0 by default); used when {@code usageLimitPolicy} is null
 * @param saturationDetector the detector that gates dispatch ({@code flowControl.saturationDetector}, else the
 *     config's top-level {@code saturationDetector})
 * @param noEndpointRequestTtl llm-d's {@code noEndpointRequestTTL}: how long a request may wait while the pool has
 *     no endpoint, replacing {@code defaultRequestTtl} for as long as that lasts ({@link Duration#ZERO} = no limit)
 * @param negativeBand llm-d's {@code defaultNegativePriorityBand}: the template for priorities below 0 without a
 *     band of their own (the default band when not configured)
 * @param usageLimitPolicy a usage-limit policy plugin giving each band its own ceiling (e.g.
 *     {@code soft-reflective-ceiling-policy}), or null for the static {@code usageLimitThreshold}
 */
public record FlowControlConfig(long maxBytes, long maxRequests, Duration defaultRequestTtl, Band defaultBand,
                                NavigableMap<Integer, Band> bands, double usageLimitThreshold,
                                SaturationDetector saturationDetector, Duration noEndpointRequestTtl,
                                Band negativeBand, UsageLimitPolicy usageLimitPolicy) {

    /** GAIE's per-band byte limit when a band sets none (1 GB). */
    public static final long DEFAULT_BAND_MAX_BYTES = 1_000_000_000L;
    public static final String GLOBAL_STRICT = "global-strict-fairness-policy";
    public static final String ROUND_ROBIN = "round-robin-fairness-policy";
    public static final String FCFS = "fcfs-ordering-policy";
    public static final String EDF = "edf-ordering-policy";
    public static final String SLO_DEADLINE = "slo-deadline-ordering-policy";
    public static final String STATIC_USAGE_LIMIT = "static-usage-limit-policy";

    public FlowControlConfig {
        Objects.requireNonNull(defaultRequestTtl);
        Objects.requireNonNull(defaultBand);
        bands = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(bands));
        Objects.requireNonNull(saturationDetector);
        Objects.requireNonNull(noEndpointRequestTtl);
        Objects.requireNonNull(negativeBand);
    }

    /** GAIE v1.5.0's fields only: the no-endpoint budget follows {@code defaultRequestTtl}, no negative template,
     * the static usage limit. */
    public FlowControlConfig(long maxBytes, long maxRequests, Duration defaultRequestTtl, Band defaultBand,
                             NavigableMap<Integer, Band> bands, double usageLimitThreshold,
                             SaturationDetector saturationDetector) {
        this(maxBytes, maxRequests, defaultRequestTtl, defaultBand, bands, usageLimitThreshold, saturationDetector,
                defaultRequestTtl, defaultBand, null);
    }

    /**
     * One priority band's limits and policies, by policy type name.
     *
     * @param maxBytes queued bytes limit (default 1 GB), never 0
     * @param maxRequests queued requests limit, 0 = none
     * @param fairnessPolicy {@value #GLOBAL_STRICT} (default), {@value #ROUND_ROBIN}, or the type of
     *     {@code fairnessPlugin}
     * @param orderingPolicy {@value #FCFS} (default), {@value #EDF} or {@value #SLO_DEADLINE}
     * @param fairnessPlugin the fairness policy plugin instance the band's {@code fairnessPolicyRef} names (e.g.
     *     {@code program-aware-fairness}), or null for the built-in policies
     */
    public record Band(long maxBytes, long maxRequests, String fairnessPolicy, String orderingPolicy,
                       FairnessPolicy fairnessPlugin) {
        public static final Band DEFAULT = new Band(DEFAULT_BAND_MAX_BYTES, 0, GLOBAL_STRICT, FCFS);

        public Band(long maxBytes, long maxRequests, String fairnessPolicy, String orderingPolicy) {
            this(maxBytes, maxRequests, fairnessPolicy, orderingPolicy, null);
        }
    }

    /**
     * The band a request of {@code priority} waits in: its own, else for a priority below 0 the negative template,
     * else the default band's template.
     */
    public Band band(int priority) {
        Band b = bands.get(priority);
        return b != null ? b : priority < 0 ? negativeBand : defaultBand;
    }

    private static final Pattern QUANTITY = Pattern.compile("([+-]?[0-9]*\\.?[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|"
            + "[eE][+-]?[0-9]+)?");

    /**
     * Parses a Kubernetes quantity as GAIE's fields take it: {@code 100}, {@code 1k}, {@code 10Gi}, {@code 1e3}.
     *
     * @throws IllegalArgumentException when it is not a quantity, or negative
     */
    public static long quantity(Object value) {
        String text = String.valueOf(value).trim();
        Matcher m = QUANTITY.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("must be a quantity like 100, 1k or 10Gi, got '" + text + "'");
        }
        BigDecimal n = new BigDecimal(m.group(1));
        String suffix = m.group(2) == null ? "" : m.group(2);
        BigDecimal factor = switch (suffix) {
            case "" -> BigDecimal.ONE;
            case "Ki" -> BigDecimal.valueOf(1L << 10);
            case "Mi" -> BigDecimal.valueOf(1L << 20);
            case "Gi" -> BigDecimal.valueOf(1L << 30);
            case "Ti" -> BigDecimal.valueOf(1L << 40);
            case "Pi" -> BigDecimal.valueOf(1L << 50);
            case "Ei" -> BigDecimal.valueOf(1L << 60);
            case "k" -> BigDecimal.TEN.pow(3);
            case "M" -> BigDecimal.TEN.pow(6);
            case "G" -> BigDecimal.TEN.pow(9);
            case "T" -> BigDecimal.TEN.pow(12);
            case "P" -> BigDecimal.TEN.pow(15);
            case "E" -> BigDecimal.TEN.pow(18);
            default -> BigDecimal.TEN.pow(Integer.parseInt(suffix.substring(1).replace("+", "")),
                    java.math.MathContext.DECIMAL128);
        };
        BigDecimal v = n.multiply(factor);
        if (v.signum() < 0) {
            throw new IllegalArgumentException("must not be negative, got '" + text + "'");
        }
        return v.setScale(0, java.math.RoundingMode.CEILING).longValueExact();
    }

    /** A band from its YAML fields, defaults applied; policy references resolved to types by {@code typeOf}. */
    static Band band(Map<?, ?> fields, java.util.function.Function<String, String> typeOf,
                     java.util.function.Function<String, FairnessPolicy> pluginOf) {
        long maxBytes = fields.get("maxBytes") == null ? 0 : quantity(fields.get("maxBytes"));
        long maxRequests = fields.get("maxRequests") == null ? 0 : quantity(fields.get("maxRequests"));
        Object fairness = fields.get("fairnessPolicyRef");
        Object ordering = fields.get("orderingPolicyRef");
        return new Band(maxBytes == 0 ? DEFAULT_BAND_MAX_BYTES : maxBytes, maxRequests,
                fairness == null ? GLOBAL_STRICT : typeOf.apply(fairness.toString()),
                ordering == null ? FCFS : typeOf.apply(ordering.toString()),
                fairness == null ? null : pluginOf.apply(fairness.toString()));
    }
}
