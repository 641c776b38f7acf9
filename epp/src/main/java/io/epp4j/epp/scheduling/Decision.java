package io.epp4j.epp.scheduling;

import io.epp4j.spi.Endpoint;

import java.util.List;

/**
 * How one profile of one request was decided: per endpoint, each scorer's raw score, its weight and the total.
 *
 * @param requestId the request
 * @param timeMillis when it was scheduled
 * @param profile the profile name
 * @param endpoints the candidates after the filters (index i matches the score arrays)
 * @param scorers scorer instance names
 * @param weights scorer weights, parallel to {@code scorers}
 * @param rawScores {@code rawScores[s][i]}: scorer s's clamped score of endpoint i
 * @param totals weighted totals per endpoint
 * @param picked the picked endpoints, best first (empty when the filters left nothing)
 */
public record Decision(String requestId, long timeMillis, String profile, List<Endpoint> endpoints,
                       List<String> scorers, double[] weights, double[][] rawScores, double[] totals,
                       List<Endpoint> picked) {

    /** A multi-line table: one row per endpoint, one column per scorer as {@code raw×weight}, then the total. */
    public String explain() {
        StringBuilder b = new StringBuilder();
        b.append("request ").append(requestId).append(" profile ").append(profile).append(" picked ");
        b.append(picked.stream().map(Endpoint::hostPort).toList());
        for (int i = 0; i < endpoints.size(); i++) {
            b.append("\n  ").append(endpoints.get(i).hostPort()).append(':');
            for (int s = 0; s < scorers.size(); s++) {
                b.append(' ').append(scorers.get(s)).append('=')
                        .append(String.format(java.util.Locale.ROOT, "%.3f×%.2f", rawScores[s][i], weights[s]));
            }
            b.append(" total=").append(String.format(java.util.Locale.ROOT, "%.3f", totals[i]));
        }
        return b.toString();
    }
}
