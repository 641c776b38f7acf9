package io.epp4j.bench.scoreboard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The scoreboard's files: {@code scoreboard.csv} (every run), {@code scoreboard.md} (a row per workload × load,
 * medians over seeds, the focus policy's ratios and whether it meets the targets) and {@code scoreboard.svg}
 * (TTFT p90 of every policy over the greedy reference's and over round-robin's, as heat maps).
 */
final class Report {

    /** The targets, by load: below capacity, and at or above it. */
    static final double BELOW_OVER_GREEDY = 1.25;
    static final double OVER_ROUND_ROBIN = 1.05;
    static final double THROUGHPUT_OVER_ROUND_ROBIN = 0.98;
    static final double SPREAD = 2.0;

    private Report() {
    }

    /** Medians over the seeds of one row. */
    record Row(Scoreboard.Key key, double requests, double capacity, double greedyP90, double boundP90, double greedySpread,
               Map<String, double[]> byPolicy) {
        // byPolicy: p90, throughput, spread, hit rate, ratio to greedy, ratio to round-robin, failed, preempted

        double p90(String policy) {
            return byPolicy.get(policy)[0];
        }

        double overGreedy(String policy) {
            return byPolicy.get(policy)[4];
        }

        double overRoundRobin(String policy) {
            return byPolicy.get(policy)[5];
        }
    }

    static List<Row> rows(List<Scoreboard.Trial> trials, List<String> policies) {
        Map<Scoreboard.Key, List<Scoreboard.Trial>> byKey = new LinkedHashMap<>();
        for (Scoreboard.Trial t : trials) {
            byKey.computeIfAbsent(t.key(), k -> new ArrayList<>()).add(t);
        }
        List<Row> rows = new ArrayList<>();
        for (var e : byKey.entrySet()) {
            List<Scoreboard.Trial> ts = e.getValue();
            Map<String, double[]> byPolicy = new LinkedHashMap<>();
            for (String p : policies) {
                byPolicy.put(p, new double[] {
                    median(ts, t -> t.cells().get(p).ttftP90()),
                    median(ts, t -> t.cells().get(p).throughput()),
                    median(ts, t -> t.cells().get(p).spread()),
                    median(ts, t -> t.cells().get(p).hitRate()),
                    median(ts, t -> t.cells().get(p).ttftP90() / t.greedyP90()),
                    median(ts, t -> t.cells().get(p).ttftP90() / t.cells().get(Scoreboard.ROUND_ROBIN).ttftP90()),
                    median(ts, t -> t.cells().get(p).failed()),
                    median(ts, t -> t.cells().get(p).preempted()),
                    median(ts, t -> t.cells().get(p).throughput()
                            / t.cells().get(Scoreboard.ROUND_ROBIN).throughput()),
                });
            }
            rows.add(new Row(e.getKey(), median(ts, Scoreboard.Trial::requests), median(ts, Scoreboard.Trial::capacity),
                    median(ts, Scoreboard.Trial::greedyP90), median(ts, Scoreboard.Trial::boundP90),
                    median(ts, Scoreboard.Trial::greedySpread), byPolicy));
        }
        return rows;
    }

    static double median(List<Scoreboard.Trial> ts, ToDoubleFunction<Scoreboard.Trial> f) {
        double[] v = ts.stream().mapToDouble(f).sorted().toArray();
        int n = v.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Which targets the focus policy misses on a row ("" when it meets them all). */
    static String misses(Row r, String focus) {
        if (!r.byPolicy().containsKey(focus)) {
            return "";
        }
        List<String> out = new ArrayList<>();
        double[] f = r.byPolicy().get(focus);
        if (r.key().load() < 1.0) {
            if (f[4] > BELOW_OVER_GREEDY) {
                out.add("x greedy");
            }
            if (f[5] > OVER_ROUND_ROBIN) {
                out.add("x RR");
            }
        } else {
            if (f[5] > OVER_ROUND_ROBIN) {
                out.add("x RR");
            }
            if (r.byPolicy().containsKey("gaie-default") && f[0] > r.p90("gaie-default")) {
                out.add("> gaie");
            }
        }
        if (f[8] < THROUGHPUT_OVER_ROUND_ROBIN) {
            out.add("throughput");
        }
        if (f[2] > SPREAD && f[2] > r.greedySpread()) {
            out.add("spread");
        }
        return String.join(", ", out);
    }

    static void write(Path dir, Scoreboard.Settings s, List<Scoreboard.Trial> trials, double minutes)
            throws IOException {
        List<Row> rows = rows(trials, s.policies());
        writeCsv(dir.resolve("scoreboard.csv"), s, trials);
        Files.writeString(dir.resolve("scoreboard.md"), markdown(s, rows, minutes));
        Files.writeString(dir.resolve("scoreboard.svg"), svg(s, rows));
    }

    private static void writeCsv(Path file, Scoreboard.Settings s, List<Scoreboard.Trial> trials) throws IOException {
        StringBuilder sb = new StringBuilder("engine,fleet,workload,load,seed,requests,capacity_rps,policy,ttft_p50_ms,"
                + "ttft_p90_ms,ttft_p99_ms,throughput_tokens_per_s,pod_spread,prefix_hit_rate,failed,preempted,"
                + "greedy_ttft_p90_ms,bound_ttft_p90_ms\n");
        for (Scoreboard.Trial t : trials) {
            for (String p : s.policies()) {
                Cell c = t.cells().get(p);
                sb.append(String.format(Locale.ROOT, "%s,%s,%s,%.2f,%d,%d,%.3f,%s,%.1f,%.1f,%.1f,%.1f,%.3f,%.4f,%d,%d,"
                                + "%.1f,%.1f%n", t.key().engine(), t.key().fleet(), t.key().workload(),
                        t.key().load(), t.seed(), t.requests(), t.capacity(), p, c.ttftP50(), c.ttftP90(), c.ttftP99(),
                        c.throughput(), c.spread(), c.hitRate(), c.failed(), c.preempted(), t.greedyP90(),
                        t.boundP90()));
            }
        }
        Files.writeString(file, sb.toString());
    }

    static String markdown(Scoreboard.Settings s, List<Row> rows, double minutes) {
        String focus = s.policies().contains(s.focus()) ? s.focus() : null;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%d requests a run, %d pods, seeds %s, loads × capacity %s; TTFT p90 in"
                        + " simulated ms, medians over seeds; %.1f minutes%n%n", s.requests(), s.pods(), s.seeds(),
                s.loads(), minutes));
        String section = "";
        int met = 0;
        int total = 0;
        for (Row r : rows) {
            String sec = r.key().engine() + " engine, " + r.key().fleet() + " fleet";
            if (!sec.equals(section)) {
                section = sec;
                sb.append("\n### ").append(sec).append("\n\n| workload | requests | load | capacity req/s | bound | greedy |");
                for (String p : s.policies()) {
                    sb.append(' ').append(p).append(" |");
                }
                if (focus != null) {
                    sb.append(' ').append(focus).append(" × greedy | × RR | throughput × RR | spread (greedy) |"
                            + " misses |");
                }
                sb.append("\n|---|---:|---:|---:|---:|---:|");
                sb.append("---:|".repeat(s.policies().size()));
                if (focus != null) {
                    sb.append("---:|---:|---:|---:|---|");
                }
                sb.append('\n');
            }
            sb.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.2f | %.0f | %.0f |", r.key().workload(),
                    r.requests(), r.key().load(), r.capacity(), r.boundP90(), r.greedyP90()));
            for (String p : s.policies()) {
                sb.append(String.format(Locale.ROOT, " %.0f |", r.p90(p)));
            }
            if (focus != null) {
                double[] f = r.byPolicy().get(focus);
                String misses = misses(r, focus);
                total++;
                met += misses.isEmpty() ? 1 : 0;
                sb.append(String.format(Locale.ROOT, " %.2f | %.2f | %.2f | %s (%s) | %s |", f[4], f[5], f[8],
                        spread(f[2]), spread(r.greedySpread()), misses.isEmpty() ? "—" : misses));
            }
            sb.append('\n');
        }
        if (focus != null) {
            sb.append(String.format(Locale.ROOT, "%n%s meets every target on %d of %d rows.%n", focus, met, total));
        }
        return sb.toString();
    }

    private static String spread(double v) {
        return Double.isInfinite(v) ? "∞" : String.format(Locale.ROOT, "%.1f", v);
    }

    /** Two heat maps side by side: rows are workload × load (by engine and fleet), columns the policies. */
    static String svg(Scoreboard.Settings s, List<Row> rows) {
        int cw = 78;
        int ch = 16;
        int label = 260;
        int top = 56;
        List<String> ps = s.policies();
        int panel = label + cw * ps.size() + 30;
        int width = panel * 2;
        int height = top + ch * rows.size() + 40;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"11\">%n", width, height));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        String[] titles = {"TTFT p90 / greedy reference's", "TTFT p90 / round-robin's"};
        for (int k = 0; k < 2; k++) {
            int x0 = k * panel;
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s"
                    + "</text>%n", x0 + 8, titles[k]));
            for (int j = 0; j < ps.size(); j++) {
                sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                        x0 + label + j * cw + cw / 2, top - 8, ps.get(j)));
            }
            for (int i = 0; i < rows.size(); i++) {
                Row r = rows.get(i);
                int y = top + i * ch;
                sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", x0 + 8, y + 12,
                        escape(r.key().engine() + " " + r.key().fleet() + " " + r.key().workload() + " ×"
                                + r.key().load())));
                for (int j = 0; j < ps.size(); j++) {
                    double v = k == 0 ? r.overGreedy(ps.get(j)) : r.overRoundRobin(ps.get(j));
                    sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
                                    + " fill=\"%s\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                            x0 + label + j * cw, y, cw - 2, ch - 2, color(v), x0 + label + j * cw + cw / 2,
                            y + 11, Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "∞"));
                }
            }
        }
        sb.append(String.format(Locale.ROOT, "<text x=\"8\" y=\"%d\">green ≤ 1.05, yellow ≤ 1.25, orange ≤ 2,"
                + " red above; medians over seeds</text>%n", height - 12));
        return sb.append("</svg>\n").toString();
    }

    private static String color(double v) {
        if (!Double.isFinite(v) || v > 2) {
            return "#e06666";
        }
        if (v > 1.25) {
            return "#f6b26b";
        }
        if (v > 1.05) {
            return "#ffe599";
        }
        return "#93c47d";
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;");
    }
}
