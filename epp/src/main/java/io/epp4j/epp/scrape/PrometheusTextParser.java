package io.epp4j.epp.scrape;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extracts a fixed set of series from a Prometheus text-format (0.0.4) or OpenMetrics body; immutable and
 * thread-safe (all per-call state lives in the caller's {@link Extraction}).
 *
 * <p>It streams once over the bytes and only looks closely at lines whose metric name some query asks for:
 * everything else (comments, {@code # TYPE}/{@code # HELP}, other families) is skipped up to the next newline
 * without being validated. Nothing is allocated per line; numbers are parsed in place (a {@code String} is made
 * only for the rare number the exact fast path cannot handle, and for label values the caller captures).
 *
 * <p>It never throws on input: a malformed line of a selected metric is skipped and counted in
 * {@link Extraction#skippedLines()}; an OpenMetrics {@code # EOF} ends the body. Several matching series: the
 * one with the newest timestamp wins (no timestamp is oldest; on a tie the first one wins).
 */
public final class PrometheusTextParser {

    private static final boolean[] NAME_BYTE = new boolean[256];
    private static final double[] POW10 = new double[23];
    private static final long MAX_EXACT = 1L << 53;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    static {
        for (int c = 0; c < 256; c++) {
            NAME_BYTE[c] = MetricSelector.isNameChar(c, false);
        }
        double p = 1;
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = p;
            p *= 10;
        }
    }

    private final List<SeriesQuery> queries;
    private final byte[][] groupNames;
    private final int[][] groupQueries;
    private final int[] table;
    private final int mask;
    private final boolean[] nameLengthUsed;
    private final byte[][][] matcherNames;
    private final byte[][][] matcherValues;
    private final byte[][][] captureNames;
    private final boolean[] collectAll;
    /** The first 8 bytes of every selected name, or null when a name is shorter (then every line is looked up). */
    private final long[] namePrefixes;

    public PrometheusTextParser(List<SeriesQuery> queries) {
        this.queries = List.copyOf(queries);
        int n = this.queries.size();
        Map<String, List<Integer>> byName = new LinkedHashMap<>();
        matcherNames = new byte[n][][];
        matcherValues = new byte[n][][];
        captureNames = new byte[n][][];
        collectAll = new boolean[n];
        int maxNameLength = 0;
        for (int q = 0; q < n; q++) {
            SeriesQuery query = this.queries.get(q);
            MetricSelector sel = query.selector();
            byName.computeIfAbsent(sel.name(), k -> new ArrayList<>()).add(q);
            maxNameLength = Math.max(maxNameLength, utf8(sel.name()).length);
            matcherNames[q] = sel.matchers().keySet().stream().map(PrometheusTextParser::utf8).toArray(byte[][]::new);
            matcherValues[q] = sel.matchers().values().stream().map(PrometheusTextParser::utf8).toArray(byte[][]::new);
            captureNames[q] = query.captureLabels().stream().map(PrometheusTextParser::utf8).toArray(byte[][]::new);
            collectAll[q] = query.collectAll();
        }
        groupNames = new byte[byName.size()][];
        groupQueries = new int[byName.size()][];
        nameLengthUsed = new boolean[maxNameLength + 1];
        int size = Integer.highestOneBit(Math.max(4, byName.size() * 4) - 1) << 1;
        table = new int[size];
        mask = size - 1;
        int g = 0;
        for (Map.Entry<String, List<Integer>> e : byName.entrySet()) {
            byte[] name = utf8(e.getKey());
            groupNames[g] = name;
            groupQueries[g] = e.getValue().stream().mapToInt(Integer::intValue).toArray();
            nameLengthUsed[name.length] = true;
            int h = 0;
            for (byte b : name) {
                h = 31 * h + b;
            }
            int slot = spread(h) & mask;
            while (table[slot] != 0) {
                slot = (slot + 1) & mask;
            }
            table[slot] = g + 1;
            g++;
        }
        namePrefixes = Arrays.stream(groupNames).allMatch(name -> name.length >= Long.BYTES)
                ? Arrays.stream(groupNames).mapToLong(name -> (long) LONGS.get(name, 0)).distinct().toArray()
                : null;
    }

    /** False when the line at {@code pos} cannot start with a selected name: one 8-byte compare per prefix. */
    private boolean maySelect(byte[] b, int pos, int len) {
        if (namePrefixes == null || pos + Long.BYTES > len) {
            return true;
        }
        long head = (long) LONGS.get(b, pos);
        for (long prefix : namePrefixes) {
            if (head == prefix) {
                return true;
            }
        }
        return false;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    public List<SeriesQuery> queries() {
        return queries;
    }

    /** A fresh result/scratch object sized for this parser's queries. */
    public Extraction newExtraction() {
        Extraction out = new Extraction(queries);
        out.reset();
        return out;
    }

    /**
     * Parses {@code body[0, length)} into {@code out} (which is reset first). Never throws for any content.
     *
     * @return {@code out}
     */
    public Extraction parse(byte[] body, int length, Extraction out) {
        out.reset();
        int len = Math.max(0, Math.min(length, body.length));
        try {
            parseLines(body, len, out);
        } catch (RuntimeException e) {
            // Defensive only: a bug here must cost one scrape, never the loop.
            out.skippedLines++;
        }
        return out;
    }

    private void parseLines(byte[] b, int len, Extraction out) {
        int pos = 0;
        while (pos < len) {
            byte c = b[pos];
            while ((c == ' ' || c == '\t') && ++pos < len) {
                c = b[pos];
            }
            if (pos >= len) {
                return;
            }
            if (c == '\n' || c == '\r') {
                pos++;
                continue;
            }
            if (c == '#') {
                if (isEof(b, pos, len)) {
                    out.sawEof = true;
                    return;
                }
                pos = nextLine(b, pos, len);
                continue;
            }
            if (!maySelect(b, pos, len)) {
                pos = nextLine(b, pos, len);
                continue;
            }
            int nameStart = pos;
            while (pos < len && NAME_BYTE[b[pos] & 0xff]) {
                pos++;
            }
            int group = lookup(b, nameStart, pos);
            if (group < 0) {
                pos = nextLine(b, pos, len);
                continue;
            }
            pos = parseSample(b, pos, len, group, out);
        }
    }

    private static boolean isEof(byte[] b, int pos, int len) {
        if (pos + 5 > len || b[pos + 1] != ' ' || b[pos + 2] != 'E' || b[pos + 3] != 'O' || b[pos + 4] != 'F') {
            return false;
        }
        int end = pos + 5;
        return end == len || b[end] == '\n' || (b[end] == '\r' && (end + 1 == len || b[end + 1] == '\n'));
    }

    /** The position after the next '\n' (or {@code len}). */
    private static int nextLine(byte[] b, int pos, int len) {
        // Eight bytes per step: most of a body is lines of families nobody asked for.
        while (pos + Long.BYTES <= len) {
            long x = (long) LONGS.get(b, pos) ^ NEWLINES;
            long newline = (x - ONES) & ~x & HIGH_BITS;
            if (newline != 0) {
                return pos + (Long.numberOfTrailingZeros(newline) >>> 3) + 1;
            }
            pos += Long.BYTES;
        }
        while (pos < len) {
            if (b[pos++] == '\n') {
                return pos;
            }
        }
        return len;
    }

    private int lookup(byte[] b, int start, int end) {
        int n = end - start;
        if (n == 0 || n >= nameLengthUsed.length || !nameLengthUsed[n]) {
            return -1;
        }
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + b[i];
        }
        int slot = spread(h) & mask;
        int g;
        while ((g = table[slot]) != 0) {
            byte[] name = groupNames[g - 1];
            if (name.length == n && Arrays.equals(name, 0, n, b, start, end)) {
                return g - 1;
            }
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    private static int skipBlanks(byte[] b, int pos, int len) {
        while (pos < len && (b[pos] == ' ' || b[pos] == '\t')) {
            pos++;
        }
        return pos;
    }

    private static boolean endsToken(byte c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    /** Parses the rest of a selected line (after the name); returns the start of the next line. */
    private int parseSample(byte[] b, int pos, int len, int group, Extraction out) {
        out.labelCount = 0;
        pos = skipBlanks(b, pos, len);
        if (pos < len && b[pos] == '{') {
            int after = parseLabels(b, pos + 1, len, out);
            if (after < 0) {
                return malformed(b, -after - 1, len, out);
            }
            pos = skipBlanks(b, after, len);
        }
        int valueStart = pos;
        while (pos < len && !endsToken(b[pos])) {
            pos++;
        }
        if (pos == valueStart) {
            return malformed(b, pos, len, out);
        }
        double value = parseNumber(b, valueStart, pos, out);
        if (!out.numberOk) {
            return malformed(b, pos, len, out);
        }
        pos = skipBlanks(b, pos, len);
        double timestamp = Double.NEGATIVE_INFINITY;
        if (pos < len && b[pos] != '\r' && b[pos] != '\n' && b[pos] != '#') {
            int tsStart = pos;
            while (pos < len && !endsToken(b[pos])) {
                pos++;
            }
            timestamp = parseNumber(b, tsStart, pos, out);
            if (!out.numberOk || Double.isNaN(timestamp)) {
                return malformed(b, pos, len, out);
            }
            pos = skipBlanks(b, pos, len);
        }
        // Only an OpenMetrics exemplar ("# {...} v") or the line end may follow.
        if (pos < len && b[pos] != '#' && b[pos] != '\n'
                && !(b[pos] == '\r' && (pos + 1 == len || b[pos + 1] == '\n'))) {
            return malformed(b, pos, len, out);
        }
        for (int q : groupQueries[group]) {
            if (matches(q, b, out)) {
                record(q, value, timestamp, b, out);
            }
        }
        return nextLine(b, pos, len);
    }

    private static int malformed(byte[] b, int pos, int len, Extraction out) {
        out.skippedLines++;
        return nextLine(b, pos, len);
    }

    /**
     * Parses {@code l="v",...}} starting after the '{'; records spans in {@code out}.
     *
     * @return the position after '}', or {@code -(failurePosition + 1)}
     */
    private static int parseLabels(byte[] b, int pos, int len, Extraction out) {
        while (true) {
            pos = skipBlanks(b, pos, len);
            if (pos >= len) {
                return -(pos + 1);
            }
            byte c = b[pos];
            if (c == '}') {
                return pos + 1;
            }
            int nameStart;
            int nameEnd;
            if (c == '"') {
                // Prometheus 3 quoted label name.
                nameStart = ++pos;
                while (pos < len && b[pos] != '"' && b[pos] != '\n') {
                    pos++;
                }
                if (pos >= len || b[pos] != '"') {
                    return -(pos + 1);
                }
                nameEnd = pos++;
            } else {
                nameStart = pos;
                while (pos < len && NAME_BYTE[b[pos] & 0xff]) {
                    pos++;
                }
                nameEnd = pos;
            }
            if (nameEnd == nameStart) {
                return -(pos + 1);
            }
            pos = skipBlanks(b, pos, len);
            if (pos >= len || b[pos] != '=') {
                return -(pos + 1);
            }
            pos = skipBlanks(b, pos + 1, len);
            if (pos >= len || b[pos] != '"') {
                return -(pos + 1);
            }
            int valueStart = ++pos;
            boolean escaped = false;
            while (pos < len) {
                c = b[pos];
                if (c == '"') {
                    break;
                }
                if (c == '\n') {
                    return -(pos + 1);
                }
                if (c == '\\') {
                    if (pos + 1 >= len || b[pos + 1] == '\n') {
                        return -(pos + 2);
                    }
                    escaped = true;
                    pos += 2;
                } else {
                    pos++;
                }
            }
            if (pos >= len) {
                return -(pos + 1);
            }
            int i = out.labelCount;
            if (i == out.nameStart.length) {
                out.growLabels();
            }
            out.nameStart[i] = nameStart;
            out.nameEnd[i] = nameEnd;
            out.valueStart[i] = valueStart;
            out.valueEnd[i] = pos;
            out.valueEscaped[i] = escaped;
            out.labelCount = i + 1;
            pos = skipBlanks(b, pos + 1, len);
            if (pos < len && b[pos] == ',') {
                pos++;
            } else if (pos >= len || b[pos] != '}') {
                return -(pos + 1);
            }
        }
    }

    private static int findLabel(byte[] b, byte[] name, Extraction out) {
        for (int i = 0; i < out.labelCount; i++) {
            int s = out.nameStart[i];
            int e = out.nameEnd[i];
            if (e - s == name.length && Arrays.equals(name, 0, name.length, b, s, e)) {
                return i;
            }
        }
        return -1;
    }

    private boolean matches(int q, byte[] b, Extraction out) {
        byte[][] names = matcherNames[q];
        byte[][] wanted = matcherValues[q];
        for (int m = 0; m < names.length; m++) {
            int i = findLabel(b, names[m], out);
            if (i < 0) {
                // PromQL: l="" also matches series without the label.
                if (wanted[m].length != 0) {
                    return false;
                }
            } else if (!valueEquals(b, out.valueStart[i], out.valueEnd[i], out.valueEscaped[i], wanted[m])) {
                return false;
            }
        }
        return true;
    }

    private static boolean valueEquals(byte[] b, int s, int e, boolean escaped, byte[] wanted) {
        if (!escaped) {
            return Arrays.equals(wanted, 0, wanted.length, b, s, e);
        }
        int j = 0;
        for (int i = s; i < e; i++, j++) {
            byte c = b[i];
            if (c == '\\' && i + 1 < e) {
                c = unescape(b[++i]);
                if (c == 0) {
                    // unknown escape: compare the backslash, then the character literally
                    if (j >= wanted.length || wanted[j] != '\\') {
                        return false;
                    }
                    j++;
                    c = b[i];
                }
            }
            if (j >= wanted.length || wanted[j] != c) {
                return false;
            }
        }
        return j == wanted.length;
    }

    private static byte unescape(byte c) {
        switch (c) {
            case 'n':
                return '\n';
            case '\\':
                return '\\';
            case '"':
                return '"';
            default:
                return 0;
        }
    }

    private static String decode(byte[] b, int s, int e, boolean escaped) {
        if (!escaped) {
            return new String(b, s, e - s, StandardCharsets.UTF_8);
        }
        byte[] tmp = new byte[e - s];
        int j = 0;
        for (int i = s; i < e; i++) {
            byte c = b[i];
            if (c == '\\' && i + 1 < e) {
                byte u = unescape(b[i + 1]);
                if (u != 0) {
                    c = u;
                    i++;
                }
            }
            tmp[j++] = c;
        }
        return new String(tmp, 0, j, StandardCharsets.UTF_8);
    }

    private void record(int q, double value, double timestamp, byte[] b, Extraction out) {
        out.matchedSamples++;
        if (collectAll[q]) {
            Map<String, String> labels = new LinkedHashMap<>();
            for (int i = 0; i < out.labelCount; i++) {
                labels.put(new String(b, out.nameStart[i], out.nameEnd[i] - out.nameStart[i], StandardCharsets.UTF_8),
                        decode(b, out.valueStart[i], out.valueEnd[i], out.valueEscaped[i]));
            }
            out.all.get(q).add(new Extraction.Series(value, timestamp, Map.copyOf(labels)));
        }
        if (out.found[q] && !(timestamp > out.timestamps[q])) {
            return;
        }
        out.found[q] = true;
        out.values[q] = value;
        out.timestamps[q] = timestamp;
        byte[][] capture = captureNames[q];
        for (int c = 0; c < capture.length; c++) {
            int i = findLabel(b, capture[c], out);
            out.captured[q][c] = i < 0 ? null
                    : decode(b, out.valueStart[i], out.valueEnd[i], out.valueEscaped[i]);
        }
    }

    /**
     * Parses a Prometheus number (Go {@code ParseFloat} syntax: decimal, exponent, {@code NaN}, {@code ±Inf});
     * sets {@code out.numberOk}. Exact: the fast path is Clinger's (≤ 2^53 mantissa, |exp| ≤ 22), else the JDK.
     */
    static double parseNumber(byte[] b, int s, int e, Extraction out) {
        out.numberOk = false;
        int i = s;
        boolean negative = false;
        if (i < e && (b[i] == '+' || b[i] == '-')) {
            negative = b[i] == '-';
            i++;
        }
        if (i >= e) {
            return Double.NaN;
        }
        int first = b[i] | 0x20;
        if (first == 'n' || first == 'i') {
            double special = special(b, i, e);
            if (Double.isNaN(special) && first == 'i') {
                return Double.NaN;
            }
            if (Double.isNaN(special) && !equalsIgnoreCase(b, i, e, "nan")) {
                return Double.NaN;
            }
            out.numberOk = true;
            return negative ? -special : special;
        }
        long mantissa = 0;
        int digits = 0;
        int exp10 = 0;
        boolean anyDigit = false;
        boolean dot = false;
        boolean exact = true;
        for (; i < e; i++) {
            int c = b[i];
            if (c >= '0' && c <= '9') {
                anyDigit = true;
                if (mantissa != 0 || c != '0') {
                    if (++digits > 18) {
                        exact = false;
                    } else {
                        mantissa = mantissa * 10 + (c - '0');
                    }
                }
                if (dot) {
                    exp10--;
                }
            } else if (c == '.' && !dot) {
                dot = true;
            } else {
                break;
            }
        }
        if (i < e && anyDigit && (b[i] == 'e' || b[i] == 'E')) {
            i++;
            boolean expNegative = false;
            if (i < e && (b[i] == '+' || b[i] == '-')) {
                expNegative = b[i] == '-';
                i++;
            }
            int expStart = i;
            int exp = 0;
            for (; i < e && b[i] >= '0' && b[i] <= '9'; i++) {
                if (exp < 100_000) {
                    exp = exp * 10 + (b[i] - '0');
                }
            }
            if (i == expStart) {
                return Double.NaN;
            }
            exp10 += expNegative ? -exp : exp;
        }
        if (i != e || !anyDigit) {
            return fallback(b, s, e, out);
        }
        double result;
        if (mantissa == 0 && exact) {
            result = 0.0;
        } else if (exact && mantissa <= MAX_EXACT && exp10 >= -22 && exp10 <= 22) {
            result = exp10 >= 0 ? mantissa * POW10[exp10] : mantissa / POW10[-exp10];
        } else {
            return fallback(b, s, e, out);
        }
        out.numberOk = true;
        return negative ? -result : result;
    }

    private static double special(byte[] b, int s, int e) {
        if (equalsIgnoreCase(b, s, e, "inf") || equalsIgnoreCase(b, s, e, "infinity")) {
            return Double.POSITIVE_INFINITY;
        }
        return Double.NaN;
    }

    private static boolean equalsIgnoreCase(byte[] b, int s, int e, String lower) {
        if (e - s != lower.length()) {
            return false;
        }
        for (int i = 0; i < lower.length(); i++) {
            if ((b[s + i] | 0x20) != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Rare numbers (many digits, big exponents, hex floats): validated, then parsed by the JDK. */
    private static double fallback(byte[] b, int s, int e, Extraction out) {
        boolean hex = false;
        for (int i = s; i < e; i++) {
            int c = b[i];
            boolean ok = (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E';
            if (c == 'x' || c == 'X') {
                hex = true;
                ok = true;
            } else if (!ok && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == 'p' || c == 'P')) {
                ok = true;
            }
            if (!ok || e - s > 64) {
                return Double.NaN;
            }
        }
        int last = b[e - 1] | 0x20;
        if (!hex && (last == 'd' || last == 'f')) {
            return Double.NaN;
        }
        try {
            double v = Double.parseDouble(new String(b, s, e - s, StandardCharsets.ISO_8859_1));
            out.numberOk = true;
            return v;
        } catch (NumberFormatException ex) {
            return Double.NaN;
        }
    }
}
