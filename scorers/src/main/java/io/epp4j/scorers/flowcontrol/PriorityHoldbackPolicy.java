package io.epp4j.scorers.flowcontrol;

import io.epp4j.scorers.base.NamedPlugin;
import io.epp4j.spi.PluginParameters;
import io.epp4j.spi.UsageLimitPolicy;

import java.util.Map;
import java.util.TreeMap;

/**
 * {@code priority-holdback-policy} (llm-d): stepped dispatch ceilings, so that as the pool saturates the lowest
 * priorities are held back first and the highest keep flowing until their own, higher ceiling.
 * <ul>
 *   <li>{@code domain: rank} (default): equal steps by rank, {@code c_i = maxCeiling - i (maxCeiling - minCeiling)
 *       / (n - 1)}, whatever the priority values;</li>
 *   <li>{@code domain: value}: in proportion to the priority value within the active range,
 *       {@code c_i = minCeiling + (p_i - pMin) / (pMax - pMin) (maxCeiling - minCeiling)} (all equal: maxCeiling);</li>
 *   <li>{@code domain: explicit}: {@code ceilings} maps each priority to its ceiling; a priority not listed gets
 *       0 (always held back).</li>
 * </ul>
 * With one active priority, {@code rank} and {@code value} give it {@code maxCeiling}. Parameters: {@code shape}
 * ({@code linear}, the only one), {@code minCeiling} (required, in [0, 1), below {@code maxCeiling}),
 * {@code maxCeiling} (1.0, in (0, 1]); with {@code explicit} only {@code ceilings}, each in [0, 1] and not rising
 * as priority falls. Stateless, thread-safe.
 */
public final class PriorityHoldbackPolicy extends NamedPlugin implements UsageLimitPolicy {

    public static final String TYPE = "priority-holdback-policy";

    private enum Domain { RANK, VALUE, EXPLICIT }

    private final Domain domain;
    private final double minCeiling;
    private final double maxCeiling;
    /** Explicit ceilings by priority. */
    private final Map<Integer, Double> explicit;

    public PriorityHoldbackPolicy(String name, PluginParameters parameters) {
        super(TYPE, name);
        String d = parameters.getString("domain", "rank");
        this.domain = switch (d) {
            case "rank" -> Domain.RANK;
            case "value" -> Domain.VALUE;
            case "explicit" -> Domain.EXPLICIT;
            default -> throw new IllegalArgumentException("parameter 'domain' must be rank, value or explicit, got '"
                    + d + "'");
        };
        if (domain == Domain.EXPLICIT) {
            for (String key : new String[] {"shape", "minCeiling", "maxCeiling"}) {
                if (parameters.has(key)) {
                    throw new IllegalArgumentException("parameter '" + key + "' must not be set when domain is"
                            + " explicit");
                }
            }
            this.explicit = explicitCeilings(parameters.getMap("ceilings"));
            this.minCeiling = 0;
            this.maxCeiling = 1;
            return;
        }
        if (parameters.has("ceilings")) {
            throw new IllegalArgumentException("parameter 'ceilings' must not be set when domain is not explicit");
        }
        String shape = parameters.getString("shape", "linear");
        if (!shape.equals("linear")) {
            throw new IllegalArgumentException("parameter 'shape' must be linear, got '" + shape + "'");
        }
        if (!parameters.has("minCeiling")) {
            throw new IllegalArgumentException("parameter 'minCeiling' is required (the lowest priority's ceiling,"
                    + " in [0, 1))");
        }
        this.minCeiling = parameters.getDouble("minCeiling", 0);
        this.maxCeiling = parameters.getDouble("maxCeiling", 1.0);
        if (!(minCeiling >= 0 && minCeiling < 1)) {
            throw new IllegalArgumentException("parameter 'minCeiling' must be in [0, 1), got " + minCeiling);
        }
        if (!(maxCeiling > 0 && maxCeiling <= 1)) {
            throw new IllegalArgumentException("parameter 'maxCeiling' must be in (0, 1], got " + maxCeiling);
        }
        if (minCeiling >= maxCeiling) {
            throw new IllegalArgumentException("parameter 'minCeiling' (" + minCeiling + ") must be below"
                    + " 'maxCeiling' (" + maxCeiling + ")");
        }
        this.explicit = Map.of();
    }

    private static Map<Integer, Double> explicitCeilings(Map<String, Object> raw) {
        if (raw.isEmpty()) {
            throw new IllegalArgumentException("parameter 'ceilings' is required when domain is explicit");
        }
        TreeMap<Integer, Double> byPriority = new TreeMap<>(java.util.Comparator.reverseOrder());
        for (Map.Entry<?, ?> e : ((Map<?, ?>) raw).entrySet()) {
            int priority;
            try {
                priority = Integer.parseInt(String.valueOf(e.getKey()).trim());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("parameter 'ceilings' keys must be integer priorities, got '"
                        + e.getKey() + "'");
            }
            double c = new PluginParameters(Map.of("c", e.getValue())).getDouble("c", 0);
            if (!(c >= 0 && c <= 1)) {
                throw new IllegalArgumentException("parameter 'ceilings' of priority " + priority + " must be in"
                        + " [0, 1], got " + c);
            }
            byPriority.put(priority, c);
        }
        Double above = null;
        Integer abovePriority = null;
        for (Map.Entry<Integer, Double> e : byPriority.entrySet()) { // highest priority first
            if (above != null && e.getValue() > above) {
                throw new IllegalArgumentException("parameter 'ceilings' must not rise as priority falls: priority "
                        + e.getKey() + " has " + e.getValue() + ", above priority " + abovePriority + "'s " + above);
            }
            above = e.getValue();
            abovePriority = e.getKey();
        }
        return Map.copyOf(byPriority);
    }

    @Override
    public void ceilings(double saturation, int[] priorities, double[] ceilings) {
        int n = priorities.length;
        if (n == 0) {
            return;
        }
        if (domain == Domain.EXPLICIT) {
            for (int i = 0; i < n; i++) {
                ceilings[i] = explicit.getOrDefault(priorities[i], 0.0);
            }
            return;
        }
        if (n == 1) {
            ceilings[0] = maxCeiling;
            return;
        }
        double spread = maxCeiling - minCeiling;
        if (domain == Domain.RANK) {
            for (int i = 0; i < n; i++) {
                ceilings[i] = maxCeiling - i * spread / (n - 1);
            }
            return;
        }
        double pMax = priorities[0];
        double pMin = priorities[n - 1];
        for (int i = 0; i < n; i++) {
            ceilings[i] = pMax == pMin ? maxCeiling : minCeiling + (priorities[i] - pMin) / (pMax - pMin) * spread;
        }
    }
}
