package io.epp4j.epp.scrape;

import java.util.List;

/**
 * What the parser should extract for one selector; immutable.
 *
 * @param selector which series match
 * @param captureLabels label values to keep from the winning series (e.g. {@code block_size}); missing → null
 * @param collectAll keep every matching series with all its labels instead of only the newest one
 */
public record SeriesQuery(MetricSelector selector, List<String> captureLabels, boolean collectAll) {

    public SeriesQuery {
        captureLabels = List.copyOf(captureLabels);
    }

    /** The newest matching series' value only. */
    public static SeriesQuery newest(MetricSelector selector) {
        return new SeriesQuery(selector, List.of(), false);
    }
}
