package com.example.epp4j;

import io.epp4j.spi.Plugin;
import io.epp4j.spi.PluginContext;
import io.epp4j.spi.PluginFactory;
import io.epp4j.spi.PluginParameters;

import java.util.HashMap;
import java.util.Map;

/** Registered in META-INF/services/io.epp4j.spi.PluginFactory; epp4j finds it with ServiceLoader. */
public final class GpuTierScorerFactory implements PluginFactory {

    public static final String TYPE = "gpu-tier-scorer";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Plugin create(String name, PluginParameters parameters, PluginContext context) {
        Map<String, Double> tiers = new HashMap<>();
        for (Map.Entry<String, Object> e : parameters.getMap("tiers").entrySet()) {
            if (!(e.getValue() instanceof Number n) || n.doubleValue() < 0 || n.doubleValue() > 1) {
                throw new IllegalArgumentException("parameter 'tiers." + e.getKey() + "' must be a number in [0,1]");
            }
            tiers.put(e.getKey(), n.doubleValue());
        }
        return new GpuTierScorer(name, tiers);
    }
}
