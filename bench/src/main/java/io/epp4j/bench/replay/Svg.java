package io.epp4j.bench.replay;

import java.util.List;
import java.util.Locale;

/** Hand-written SVG charts (no plotting library). */
final class Svg {

    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

    private Svg() {
    }

    /** TTFT cumulative distribution per policy; x is log10(ms). */
    static String ttftCdf(List<Report> reports, String workload) {
        int w = 720;
        int h = 420;
        int left = 70;
        int right = 170;
        int top = 40;
        int bottom = 50;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (Report r : reports) {
            double[] t = r.sortedTtfts();
            if (t.length > 0) {
                min = Math.min(min, Math.max(1, t[0]));
                max = Math.max(max, t[t.length - 1]);
            }
        }
        if (max == 0) {
            min = 1;
            max = 10;
        }
        double lo = Math.floor(Math.log10(min));
        double hi = Math.ceil(Math.log10(Math.max(max, min * 10)));
        int pw = w - left - right;
        int ph = h - top - bottom;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", w, h, w, h));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\">TTFT CDF, %s (simulated ms, log scale)</text>%n", left, escape(workload)));
        for (double d = lo; d <= hi; d++) {
            double x = left + (d - lo) / (hi - lo) * pw;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>%n", x, top, x, top + ph));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", x, top + ph + 18,
                    d < 3 ? String.format(Locale.ROOT, "%.0f ms", Math.pow(10, d)) : String.format(Locale.ROOT, "%.0f s", Math.pow(10, d - 3))));
        }
        for (int q = 0; q <= 4; q++) {
            double y = top + ph - q / 4.0 * ph;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, y, left + pw, y));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>%n", left - 6, y + 4, q / 4.0));
        }
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time to first token</text>%n", left + pw / 2, h - 10));
        for (int i = 0; i < reports.size(); i++) {
            Report r = reports.get(i);
            double[] t = r.sortedTtfts();
            String color = COLORS[i % COLORS.length];
            StringBuilder pts = new StringBuilder();
            int step = Math.max(1, t.length / 400);
            for (int k = 0; k < t.length; k += step) {
                appendPoint(pts, t[k], (k + 1.0) / t.length, lo, hi, left, top, pw, ph);
            }
            if (t.length > 0) {
                appendPoint(pts, t[t.length - 1], 1.0, lo, hi, left, top, pw, ph);
            }
            sb.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n", color, pts.toString().trim()));
            int ly = top + 10 + i * 20;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>%n", left + pw + 15, ly, left + pw + 40, ly, color));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", left + pw + 46, ly + 4, escape(r.policy())));
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static void appendPoint(StringBuilder pts, double ms, double frac, double lo, double hi, int left, int top,
                                    int pw, int ph) {
        double lx = (Math.log10(Math.max(ms, Math.pow(10, lo))) - lo) / (hi - lo);
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + lx * pw, top + ph - frac * ph));
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
