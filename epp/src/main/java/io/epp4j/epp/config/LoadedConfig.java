package io.epp4j.epp.config;

import io.epp4j.epp.request.RequestParsers;
import io.epp4j.spi.Filter;
import io.epp4j.spi.Picker;
import io.epp4j.spi.Plugin;
import io.epp4j.spi.ProfileHandler;
import io.epp4j.spi.SaturationDetector;
import io.epp4j.spi.Scorer;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated EndpointPickerConfig with its plugin instances created and GAIE's system defaults applied.
 *
 * @param source where it came from (file path, "config-text" or "default")
 * @param plugins every scheduling plugin instance by name, in declaration order (auto-added ones last)
 * @param profiles the scheduling profiles, in declaration order
 * @param profileHandler the one profile handler
 * @param saturationDetector the detector used for admission
 * @param featureGates the enabled feature gates
 * @param dataSources the data-layer sources in order: type, parameters and extractors
 * @param parsers the request parsers, and which one reads each path
 * @param flowControl the {@code flowControl} section as plain values (validated)
 * @param flowControlConfig the typed {@code flowControl} section when the {@code flowControl} feature gate is on,
 *     else null (requests are not queued)
 */
public record LoadedConfig(
        String source,
        Map<String, Plugin> plugins,
        List<Profile> profiles,
        ProfileHandler profileHandler,
        SaturationDetector saturationDetector,
        Set<String> featureGates,
        List<DataSource> dataSources,
        RequestParsers parsers,
        Map<String, Object> flowControl,
        FlowControlConfig flowControlConfig) {

    /** Whether model-server metrics are collected: a {@code metrics-data-source} is among the data sources. */
    public boolean scrapesMetrics() {
        return dataSources.stream().anyMatch(d -> d.source().type().equals("metrics-data-source"));
    }

    /** A plugin declared by type and parameters only (data layer), not instantiated by the scheduler. */
    public record PluginSpec(String name, String type, Map<String, Object> parameters) {
    }

    public record DataSource(PluginSpec source, List<PluginSpec> extractors) {
    }

    public record WeightedScorer(Scorer scorer, double weight) {
    }

    public record Profile(String name, List<Filter> filters, List<WeightedScorer> scorers, Picker picker) {
    }

    /** Parameters of the first data source of {@code type} (e.g. {@code metrics-data-source}), or empty. */
    public Map<String, Object> dataSourceParameters(String type) {
        for (DataSource d : dataSources) {
            if (d.source().type().equals(type)) {
                return d.source().parameters();
            }
        }
        return Map.of();
    }

    /** Parameters of the {@code metrics-data-source}, as the scraper needs them. */
    public Map<String, Object> dataSourceParameters() {
        return dataSourceParameters("metrics-data-source");
    }

    /** Parameters of the first extractor of {@code type} (e.g. {@code core-metrics-extractor}), or empty. */
    public Map<String, Object> extractorParameters(String type) {
        for (DataSource d : dataSources) {
            for (PluginSpec e : d.extractors()) {
                if (e.type().equals(type)) {
                    return e.parameters();
                }
            }
        }
        return Map.of();
    }

    /** Parameters of the {@code core-metrics-extractor}. */
    public Map<String, Object> extractorParameters() {
        return extractorParameters("core-metrics-extractor");
    }

    public boolean featureGate(String gate) {
        return featureGates.contains(gate);
    }
}
