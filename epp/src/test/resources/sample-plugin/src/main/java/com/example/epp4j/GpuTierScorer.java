package com.example.epp4j;

import io.epp4j.spi.CycleState;
import io.epp4j.spi.Endpoint;
import io.epp4j.spi.InferenceRequest;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.Map;

/** Prefers faster GPUs: the score of an endpoint is the configured value of its {@code gpu-tier} label. */
public final class GpuTierScorer implements Scorer {

    private final String name;
    private final Map<String, Double> tiers;

    GpuTierScorer(String name, Map<String, Double> tiers) {
        this.name = name;
        this.tiers = Map.copyOf(tiers);
    }

    @Override
    public String type() {
        return GpuTierScorerFactory.TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void score(CycleState state, InferenceRequest request, List<Endpoint> endpoints, double[] scores) {
        for (int i = 0; i < endpoints.size(); i++) {
            String tier = endpoints.get(i).info().labels().get("gpu-tier");
            scores[i] = tier == null ? 0.0 : tiers.getOrDefault(tier, 0.0);
        }
    }
}
