package io.epp4j.scorers.llmd;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.Filter;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.Map;

/** One scheduling profile run by hand: filters, weighted scorers, then the highest total (first on ties). */
final class Routing {

    private Routing() {
    }

    static List<Endpoint> filter(CycleState state, InferenceRequest request, List<Endpoint> endpoints,
                                 Filter... filters) {
        List<Endpoint> out = endpoints;
        for (Filter f : filters) {
            out = f.filter(state, request, out);
        }
        return out;
    }

    /** The picked endpoint's pod name, or null when the filters left nothing. */
    static String pick(CycleState state, InferenceRequest request, List<Endpoint> endpoints, List<Filter> filters,
                       Map<Scorer, Double> scorers) {
        List<Endpoint> left = filter(state, request, endpoints, filters.toArray(Filter[]::new));
        if (left.isEmpty()) {
            return null;
        }
        double[] totals = new double[left.size()];
        double[] scores = new double[left.size()];
        for (Map.Entry<Scorer, Double> s : scorers.entrySet()) {
            s.getKey().score(state, request, left, scores);
            for (int i = 0; i < totals.length; i++) {
                totals[i] += s.getValue() * Math.max(0, Math.min(1, scores[i]));
            }
        }
        int best = 0;
        for (int i = 1; i < totals.length; i++) {
            if (totals[i] > totals[best]) {
                best = i;
            }
        }
        return left.get(best).info().podName();
    }

    static List<String> pods(List<Endpoint> endpoints) {
        return endpoints.stream().map(e -> e.info().podName()).toList();
    }
}
