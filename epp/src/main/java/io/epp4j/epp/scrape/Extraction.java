package io.epp4j.epp.scrape;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The result of one {@link PrometheusTextParser#parse} call, and the parser's scratch space; reused scrape after
 * scrape by one thread at a time (a scrape loop), so it is mutable and not thread-safe.
 *
 * <p>Per query index: whether a series matched, the newest one's value and timestamp (timestamps are in the
 * exposition's own unit: milliseconds in text 0.0.4, seconds in OpenMetrics; {@code -Infinity} when absent),
 * captured label values, and for collect-all queries every matching series.
 */
public final class Extraction {

    /** One matching series kept by a collect-all query. */
    public record Series(double value, double timestamp, Map<String, String> labels) {
    }

    final boolean[] found;
    final double[] values;
    final double[] timestamps;
    final String[][] captured;
    final List<List<Series>> all;
    int skippedLines;
    int matchedSamples;
    boolean sawEof;

    // scratch for the line being parsed: label spans [start, end) into the body
    int[] nameStart = new int[32];
    int[] nameEnd = new int[32];
    int[] valueStart = new int[32];
    int[] valueEnd = new int[32];
    boolean[] valueEscaped = new boolean[32];
    int labelCount;
    boolean numberOk;

    Extraction(List<SeriesQuery> queries) {
        int n = queries.size();
        found = new boolean[n];
        values = new double[n];
        timestamps = new double[n];
        captured = new String[n][];
        all = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            captured[i] = new String[queries.get(i).captureLabels().size()];
            all.add(queries.get(i).collectAll() ? new ArrayList<>() : List.of());
        }
    }

    void reset() {
        for (int i = 0; i < found.length; i++) {
            found[i] = false;
            values[i] = Double.NaN;
            timestamps[i] = Double.NEGATIVE_INFINITY;
            java.util.Arrays.fill(captured[i], null);
            if (!all.get(i).isEmpty()) {
                all.get(i).clear();
            }
        }
        skippedLines = 0;
        matchedSamples = 0;
        sawEof = false;
    }

    void growLabels() {
        int n = nameStart.length * 2;
        nameStart = java.util.Arrays.copyOf(nameStart, n);
        nameEnd = java.util.Arrays.copyOf(nameEnd, n);
        valueStart = java.util.Arrays.copyOf(valueStart, n);
        valueEnd = java.util.Arrays.copyOf(valueEnd, n);
        valueEscaped = java.util.Arrays.copyOf(valueEscaped, n);
    }

    /** Whether any series matched query {@code q}. */
    public boolean found(int q) {
        return found[q];
    }

    /** The newest matching series' value (NaN when none matched; NaN may also be the real value). */
    public double value(int q) {
        return values[q];
    }

    /** The newest matching series' timestamp, {@code -Infinity} if it had none or none matched. */
    public double timestamp(int q) {
        return timestamps[q];
    }

    /** The winning series' value of the query's {@code i}-th capture label, or null. */
    public String captured(int q, int i) {
        return captured[q][i];
    }

    /** Every matching series of a collect-all query, in exposition order (empty otherwise). */
    public List<Series> all(int q) {
        return all.get(q);
    }

    /** Lines of a selected metric that were malformed and skipped. */
    public int skippedLines() {
        return skippedLines;
    }

    /** Samples that matched some query. */
    public int matchedSamples() {
        return matchedSamples;
    }

    /** Whether an OpenMetrics {@code # EOF} marker ended the body. */
    public boolean sawEof() {
        return sawEof;
    }
}
