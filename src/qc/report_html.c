/* report.html from a report document (report.h): one self-contained page with inline CSS and
 * inline SVG charts, no scripts and no external URLs. Every text taken from the document
 * (project, annotator, control and label names, rule ids) goes through esc(): they are user
 * input, and the page must stay inert whatever they hold. Numbers are printed with "%g"-like
 * formats of our own choosing, never copied as text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qc/report.h"

#define MAX_BARS 40       /* bars per chart; the tables hold the rest */
#define MAX_MATRIX 40     /* rows and columns of a heat map */
#define MAX_SMALL_CONF 24 /* per-annotator confusion matrices shown */

/* ---- reading the document defensively -------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* A number member (integer or real); false when absent, null or not a number. */
static bool num(const json_t *o, const char *key, double *v)
{
    const json_t *j = json_object_get(o, key);
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        *v = json_real_value(j);
        return isfinite(*v);
    }
    return false;
}

static double numd(const json_t *o, const char *key)
{
    double v;
    return num(o, key, &v) ? v : NAN;
}

static long long inum(const json_t *o, const char *key)
{
    double v;
    return num(o, key, &v) && fabs(v) < 9e15 ? (long long)v : 0;
}

static const json_t *arr(const json_t *o, const char *key)
{
    const json_t *a = json_object_get(o, key);
    return json_is_array(a) ? a : NULL;
}

/* ---- writing -------------------------------------------------------------------------------- */

static void esc_n(an_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '&':
            an_buf_adds(b, "&amp;");
            break;
        case '<':
            an_buf_adds(b, "&lt;");
            break;
        case '>':
            an_buf_adds(b, "&gt;");
            break;
        case '"':
            an_buf_adds(b, "&quot;");
            break;
        case '\'':
            an_buf_adds(b, "&#39;");
            break;
        case '\0':
            break;
        default:
            an_buf_addc(b, c);
        }
    }
}

static void esc(an_buf *b, const char *s)
{
    esc_n(b, s, strlen(s));
}

/* A label for a chart: escaped, cut to max bytes on a UTF-8 boundary with an ellipsis. */
static void esc_cut(an_buf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        esc_n(b, s, n);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    esc_n(b, s, max);
    an_buf_adds(b, "\xe2\x80\xa6");
}

static void tag_text(an_buf *b, const char *tag, const char *text)
{
    an_buf_addf(b, "<%s>", tag);
    esc(b, text);
    an_buf_addf(b, "</%s>", tag);
}

static void fmt_pct(an_buf *b, double v)
{
    if (isfinite(v))
        an_buf_addf(b, "%.1f%%", v * 100);
    else
        an_buf_adds(b, "\xe2\x80\x94");
}

static void fmt_num(an_buf *b, double v, int digits)
{
    if (isfinite(v))
        an_buf_addf(b, "%.*f", digits, v);
    else
        an_buf_adds(b, "\xe2\x80\x94");
}

static void td_num(an_buf *b, double v, int digits)
{
    an_buf_adds(b, "<td class=\"n\">");
    fmt_num(b, v, digits);
    an_buf_adds(b, "</td>");
}

static void td_pct(an_buf *b, double v)
{
    an_buf_adds(b, "<td class=\"n\">");
    fmt_pct(b, v);
    an_buf_adds(b, "</td>");
}

static void td_int(an_buf *b, long long v)
{
    an_buf_addf(b, "<td class=\"n\">%lld</td>", v);
}

static void td_text(an_buf *b, const char *s)
{
    tag_text(b, "td", s);
}

static void th_row(an_buf *b, const char *const *heads, size_t n)
{
    an_buf_adds(b, "<thead><tr>");
    for (size_t i = 0; i < n; i++)
        tag_text(b, "th", heads[i]);
    an_buf_adds(b, "</tr></thead><tbody>");
}

/* ---- colours ------------------------------------------------------------------------------ */

/* 0..1 from white to a deep blue. */
static void fill_seq(an_buf *b, double t)
{
    if (!isfinite(t)) {
        an_buf_adds(b, "#eeeeee");
        return;
    }
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int r = (int)(255 - t * (255 - 31)), g = (int)(255 - t * (255 - 78)),
        bl = (int)(255 - t * (255 - 156));
    an_buf_addf(b, "#%02x%02x%02x", r, g, bl);
}

/* -1..1 from red through white to blue. */
static void fill_div(an_buf *b, double v)
{
    if (!isfinite(v)) {
        an_buf_adds(b, "#eeeeee");
        return;
    }
    if (v >= 0) {
        fill_seq(b, v);
        return;
    }
    double t = v < -1 ? 1 : -v;
    int r = (int)(255 - t * (255 - 178)), g = (int)(255 - t * (255 - 34)),
        bl = (int)(255 - t * (255 - 34));
    an_buf_addf(b, "#%02x%02x%02x", r, g, bl);
}

static const char *ink_for(double t)
{
    return isfinite(t) && fabs(t) > 0.55 ? "#ffffff" : "#1a1a1a";
}

/* ---- charts ---------------------------------------------------------------------------------- */

typedef struct bar {
    const char *name;
    double value;  /* NAN: shown as "—" without a bar */
    double lo, hi; /* the second value's interval (whisker); NAN: none */
    double value2; /* a second bar (e.g. gold beside DS); NAN: none */
} bar;

/* Horizontal bars; max <= 0 means the largest value. pct: values are shares (0..1). */
static void bar_chart(an_buf *b, const char *title, const bar *bars, size_t n, double max, bool pct,
                      const char *legend1, const char *legend2)
{
    if (n > MAX_BARS) n = MAX_BARS;
    if (max <= 0) {
        for (size_t i = 0; i < n; i++) {
            if (isfinite(bars[i].value) && bars[i].value > max) max = bars[i].value;
            if (isfinite(bars[i].value2) && bars[i].value2 > max) max = bars[i].value2;
        }
        if (max <= 0) max = 1;
    }
    bool two = false;
    for (size_t i = 0; i < n; i++)
        two |= isfinite(bars[i].value2);
    const int lw = 200, cw = 380, w = lw + cw + 90, rh = two ? 30 : 22;
    int hgt = (int)n * rh + 12 + (legend1 ? 20 : 0);
    an_buf_addf(b,
                "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                "role=\"img\" aria-label=\"",
                w, hgt, w, hgt);
    esc(b, title);
    an_buf_adds(b, "\">");
    for (size_t i = 0; i < n; i++) {
        int y = 6 + (int)i * rh;
        an_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 6, y + 13);
        esc_cut(b, bars[i].name, 40);
        an_buf_adds(b, "</text>");
        double v = bars[i].value;
        int bh = two ? 12 : 14;
        if (isfinite(v)) {
            double bw = cw * (v < 0 ? 0 : v > max ? 1 : v / max);
            an_buf_addf(b, "<rect class=\"b1\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>",
                        lw, y + 3, bw < 1 ? 1 : bw, bh);
        }
        an_buf_addf(b, "<text class=\"v\" x=\"%d\" y=\"%d\">", lw + cw + 6, y + 13);
        if (pct)
            fmt_pct(b, v);
        else
            fmt_num(b, v, v == floor(v) ? 0 : 3);
        an_buf_adds(b, "</text>");
        if (two && isfinite(bars[i].value2)) {
            double v2 = bars[i].value2;
            double bw = cw * (v2 < 0 ? 0 : v2 > max ? 1 : v2 / max);
            an_buf_addf(b, "<rect class=\"b2\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>",
                        lw, y + 16, bw < 1 ? 1 : bw, bh);
            if (isfinite(bars[i].lo) && isfinite(bars[i].hi)) {
                double x0 = lw + cw * bars[i].lo / max, x1 = lw + cw * bars[i].hi / max;
                an_buf_addf(b, "<line class=\"ci\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>",
                            x0, x1, y + 16 + bh / 2, y + 16 + bh / 2);
            }
            an_buf_addf(b, "<text class=\"v\" x=\"%d\" y=\"%d\">", lw + cw + 6, y + 26);
            fmt_pct(b, v2);
            an_buf_adds(b, "</text>");
        }
    }
    if (legend1) {
        int y = hgt - 10;
        an_buf_addf(b,
                    "<rect class=\"b1\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
                    "<text x=\"%d\" y=\"%d\">",
                    lw, y - 8, lw + 14, y + 1);
        esc(b, legend1);
        an_buf_adds(b, "</text>");
        if (legend2) {
            an_buf_addf(b,
                        "<rect class=\"b2\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
                        "<text x=\"%d\" y=\"%d\">",
                        lw + 190, y - 8, lw + 204, y + 1);
            esc(b, legend2);
            an_buf_adds(b, "</text>");
        }
    }
    an_buf_adds(b, "</svg>");
}

/* A heat map of an n x n matrix with row and column names. counts: colour by share of the
 * row (a confusion matrix), else by value on -1..1 (an agreement matrix). */
static void heat_map(an_buf *b, const char *title, const char *const *rows, const char *const *cols,
                     size_t n, const double *m, bool counts, const char *row_axis,
                     const char *col_axis)
{
    if (n > MAX_MATRIX) n = MAX_MATRIX;
    const int cell = n > 12 ? 30 : 44, lw = 150, top = 100;
    int w = lw + (int)n * cell + 10, hgt = top + (int)n * cell + 24;
    if (w < lw + 230) w = lw + 230; /* room for the axis caption */
    an_buf_addf(b,
                "<svg class=\"chart heat\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                "role=\"img\" aria-label=\"",
                w, hgt, w, hgt);
    esc(b, title);
    an_buf_adds(b, "\">");
    for (size_t j = 0; j < n; j++) {
        int x = lw + (int)j * cell + cell / 2;
        an_buf_addf(b, "<text class=\"col\" transform=\"translate(%d %d) rotate(-50)\">", x,
                    top - 6);
        esc_cut(b, cols[j], 24);
        an_buf_adds(b, "</text>");
    }
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * cell;
        an_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 6, y + cell / 2 + 4);
        esc_cut(b, rows[i], 24);
        an_buf_adds(b, "</text>");
        double row_sum = 0;
        for (size_t j = 0; j < n; j++)
            if (isfinite(m[i * n + j])) row_sum += m[i * n + j];
        for (size_t j = 0; j < n; j++) {
            double v = m[i * n + j];
            double t = counts ? (row_sum > 0 ? v / row_sum : 0) : i == j ? NAN : v;
            an_buf_addf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"",
                        lw + (int)j * cell, y, cell - 1, cell - 1);
            if (counts)
                fill_seq(b, t);
            else
                fill_div(b, t);
            an_buf_addf(b, "\"/><text class=\"cv\" x=\"%d\" y=\"%d\" fill=\"%s\">",
                        lw + (int)j * cell + cell / 2, y + cell / 2 + 4, ink_for(t));
            if (counts)
                fmt_num(b, v, 0);
            else if (i == j)
                an_buf_adds(b, "");
            else
                fmt_num(b, v, 2);
            an_buf_adds(b, "</text>");
        }
    }
    an_buf_addf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\">", lw, hgt - 6);
    esc(b, row_axis);
    an_buf_adds(b, " \xe2\x86\x93 \xc2\xb7 ");
    esc(b, col_axis);
    an_buf_adds(b, " \xe2\x86\x92</text></svg>");
}

/* A line chart over days: series of values (NAN: a gap), y from 0 to ymax. */
typedef struct series {
    const char *name;
    const char *cls;
    double *v;
} series;

static void line_chart(an_buf *b, const char *title, const char *const *xs, size_t n,
                       const series *ss, size_t ns, double ymax, bool pct)
{
    const int lw = 56, w = 720, top = 12, ph = 200, bottom = 60, right = 70;
    int hgt = top + ph + bottom;
    double pw = w - lw - right;
    if (ymax <= 0) ymax = 1;
    if (!pct) ymax = 4 * ceil(ymax / 4); /* whole numbers on the four grid lines */
    an_buf_addf(b,
                "<svg class=\"chart line\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                "role=\"img\" aria-label=\"",
                w, hgt, w, hgt);
    esc(b, title);
    an_buf_adds(b, "\">");
    for (int k = 0; k <= 4; k++) {
        double v = ymax * k / 4;
        double y = top + ph - ph * k / 4.0;
        an_buf_addf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", lw,
                    w - right, y, y);
        an_buf_addf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", lw - 4, y + 4);
        if (pct)
            an_buf_addf(b, "%.0f%%", v * 100);
        else
            an_buf_addf(b, "%.0f", v);
        an_buf_adds(b, "</text>");
    }
    size_t step = n > 10 ? (n + 9) / 10 : 1;
    for (size_t i = 0; i < n; i += step) {
        double x = lw + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
        an_buf_addf(b, "<text class=\"col\" transform=\"translate(%.1f %d) rotate(-35)\">", x,
                    top + ph + 14);
        esc_cut(b, xs[i], 12);
        an_buf_adds(b, "</text>");
    }
    for (size_t s = 0; s < ns; s++) {
        bool open = false;
        for (size_t i = 0; i < n; i++) {
            double v = ss[s].v[i];
            double x = lw + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
            if (!isfinite(v)) {
                if (open) an_buf_adds(b, "\"/>");
                open = false;
                continue;
            }
            double y = top + ph - ph * (v > ymax ? 1 : v < 0 ? 0 : v / ymax);
            if (!open) an_buf_addf(b, "<polyline class=\"%s\" points=\"", ss[s].cls);
            an_buf_addf(b, "%.1f,%.1f ", x, y);
            open = true;
        }
        if (open) an_buf_adds(b, "\"/>");
        for (size_t i = 0; i < n; i++) {
            double v = ss[s].v[i];
            if (!isfinite(v)) continue;
            double x = lw + (n > 1 ? pw * (double)i / (double)(n - 1) : pw / 2);
            double y = top + ph - ph * (v > ymax ? 1 : v < 0 ? 0 : v / ymax);
            an_buf_addf(b, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", ss[s].cls, x,
                        y);
        }
        int lx = lw + (int)s * 200;
        an_buf_addf(b, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>",
                    ss[s].cls, lx, hgt - 16);
        an_buf_addf(b, "<text x=\"%d\" y=\"%d\">", lx + 14, hgt - 7);
        esc(b, ss[s].name);
        an_buf_adds(b, "</text>");
    }
    an_buf_adds(b, "</svg>");
}

/* ---- sections -------------------------------------------------------------------------------- */

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK "
    "SC',sans-serif;color:#1a1a1a;margin:24px auto;max-width:1000px;padding:0 16px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px "
    "solid #ccc;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}"
    ".muted{color:#666}table{border-collapse:collapse;margin:8px 0 12px}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "svg.chart{display:block;max-width:100%;height:auto;margin:6px 0 14px;font-size:12px}"
    "svg text{fill:#1a1a1a}svg text.v{fill:#444}svg text.cv{text-anchor:middle;font-size:11px}"
    "svg text.col{text-anchor:start}svg text.axis{fill:#666}"
    "rect.b1,circle.s1,rect.s1{fill:#1f4e9c}rect.b2,circle.s2,rect.s2{fill:#e08a1e}"
    "circle.s3,rect.s3{fill:#2e8b57}circle.s4,rect.s4{fill:#b22222}"
    "line.ci{stroke:#111;stroke-width:2}line.grid{stroke:#e3e3e3}"
    "polyline{fill:none;stroke-width:2}polyline.s1{stroke:#1f4e9c}polyline.s2{stroke:#e08a1e}"
    "polyline.s3{stroke:#2e8b57}polyline.s4{stroke:#b22222}"
    ".small{display:flex;flex-wrap:wrap;gap:8px}.small figure{margin:0}"
    "figcaption{font-size:12px;color:#444}"
    "section{break-inside:avoid-page}"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg.chart{max-width:100%}}";

static void summary_section(an_buf *b, const json_t *r)
{
    const json_t *s = json_object_get(r, "summary");
    an_buf_adds(b, "<section id=\"summary\"><h2>Summary</h2><table>");
    static const char *const keys[][2] = {
        {"tasks", "Tasks"},          {"annotations", "Annotations (not skipped)"},
        {"cancelled", "Skipped"},    {"annotators", "Annotators"},
        {"findings", "QC findings"}, {"days", "Days with annotations"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        an_buf_adds(b, "<tr>");
        tag_text(b, "th", keys[i][1]);
        td_int(b, inum(s, keys[i][0]));
        an_buf_adds(b, "</tr>");
    }
    an_buf_adds(b, "<tr><th>Time range (UTC)</th><td>");
    esc(b, str(s, "first"));
    an_buf_adds(b, " \xe2\x80\x93 ");
    esc(b, str(s, "last"));
    an_buf_adds(b, "</td></tr></table>");

    const json_t *anns = arr(r, "annotators");
    const json_t *by_ann = arr(json_object_get(r, "errors"), "by_annotator");
    if (json_array_size(anns)) {
        an_buf_adds(b, "<h3>Annotators</h3><table>");
        static const char *const h[] = {"Annotator", "Submitted", "Skipped", "Mean lead time (s)",
                                        "Findings"};
        th_row(b, h, 5);
        size_t i;
        const json_t *a;
        json_array_foreach(anns, i, a)
        {
            long long findings = 0;
            size_t k;
            const json_t *e;
            json_array_foreach(by_ann, k, e)
            {
                if (json_equal(json_object_get(e, "id"), json_object_get(a, "id")))
                    findings = inum(e, "total");
            }
            an_buf_adds(b, "<tr>");
            td_text(b, str(a, "name"));
            td_int(b, inum(a, "submitted"));
            td_int(b, inum(a, "skipped"));
            td_num(b, numd(a, "mean_lead_time"), 1);
            td_int(b, findings);
            an_buf_adds(b, "</tr>");
        }
        an_buf_adds(b, "</tbody></table>");
    }
    an_buf_adds(b, "</section>");
}

/* Reads a K x K matrix of numbers into m (NAN where missing). */
static void read_matrix(const json_t *rows, size_t k, double *m)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            const json_t *v = json_array_get(json_array_get(rows, i), j);
            m[i * k + j] = json_is_number(v) ? json_number_value(v) : NAN;
        }
}

static void control_section(an_buf *b, const json_t *c)
{
    const json_t *labels = arr(c, "labels");
    size_t K = json_array_size(labels);
    if (K > MAX_MATRIX) K = MAX_MATRIX;
    const char **names = an_xcalloc(K + 1, sizeof *names);
    for (size_t j = 0; j < K; j++) {
        const char *s = json_string_value(json_array_get(labels, j));
        names[j] = s ? s : "";
    }
    const json_t *cons = json_object_get(c, "consensus");
    an_buf_adds(b, "<section class=\"control\"><h2>Control ");
    esc(b, str(c, "name"));
    an_buf_adds(b, " <span class=\"muted\">(");
    esc(b, str(c, "type"));
    an_buf_adds(b, ")</span></h2>");
    an_buf_addf(b,
                "<p>Consensus by Dawid\xe2\x80\x93Skene over %lld tasks: %lld labels, %lld tasks "
                "with a consensus label, %lld ties, %lld iterations%s; majority vote differs on "
                "%lld tasks. Gold tasks: %lld.</p>",
                inum(c, "tasks"), inum(cons, "labels"), inum(cons, "labelled_items"),
                inum(cons, "ties"), inum(cons, "iterations"),
                json_is_true(json_object_get(cons, "converged")) ? " (converged)"
                                                                 : " (not converged)",
                inum(cons, "methods_differ"), inum(c, "gold_tasks"));

    const json_t *anns = arr(c, "annotators");
    size_t A = json_array_size(anns);
    if (A) {
        an_buf_adds(b, "<h3>Annotators</h3><table>");
        static const char *const h[] = {"Annotator",
                                        "Labels",
                                        "DS accuracy",
                                        "Majority accuracy",
                                        "Gold",
                                        "Gold accuracy (95% CI)",
                                        "Agrees with consensus"};
        th_row(b, h, 7);
        bar *bars = an_xcalloc(A, sizeof *bars);
        size_t i;
        const json_t *a;
        json_array_foreach(anns, i, a)
        {
            const json_t *g = json_object_get(a, "gold");
            an_buf_adds(b, "<tr>");
            td_text(b, str(a, "name"));
            td_int(b, inum(a, "labels"));
            td_pct(b, numd(a, "ds_accuracy"));
            td_pct(b, numd(a, "majority_accuracy"));
            if (json_is_object(g)) {
                an_buf_addf(b, "<td class=\"n\">%lld / %lld</td><td class=\"n\">",
                            inum(g, "correct"), inum(g, "seen"));
                fmt_pct(b, numd(g, "accuracy"));
                an_buf_adds(b, " (");
                fmt_pct(b, numd(g, "low"));
                an_buf_adds(b, " \xe2\x80\x93 ");
                fmt_pct(b, numd(g, "high"));
                an_buf_adds(b, ")</td>");
            } else {
                an_buf_adds(b,
                            "<td class=\"n\">\xe2\x80\x94</td><td class=\"n\">\xe2\x80\x94</td>");
            }
            an_buf_adds(b, "<td class=\"n\">");
            fmt_pct(b, numd(a, "agreement"));
            an_buf_addf(b, " <span class=\"muted\">of %lld</span></td></tr>", inum(a, "compared"));
            bars[i] = (bar){str(a, "name"), numd(a, "ds_accuracy"), NAN, NAN, NAN};
            if (json_is_object(g))
                bars[i] = (bar){str(a, "name"), numd(a, "ds_accuracy"), numd(g, "low"),
                                numd(g, "high"), numd(g, "accuracy")};
        }
        an_buf_adds(b, "</tbody></table>");
        an_buf_adds(b, "<h3>Accuracy per annotator</h3>");
        bar_chart(b, "Accuracy per annotator", bars, A, 1, true, "Dawid\xe2\x80\x93Skene accuracy",
                  "gold accuracy");
        free(bars);
    }

    double *m = an_xcalloc(K * K + 1, sizeof *m);
    if (K) {
        read_matrix(json_object_get(c, "confusion"), K, m);
        an_buf_adds(b, "<h3>Confusion matrix, all annotators</h3>");
        heat_map(b, "Confusion matrix", names, names, K, m, true, "consensus label",
                 "annotator's answer");
    }
    const json_t *dis = arr(c, "disagreement_by_label");
    size_t nd = json_array_size(dis);
    if (nd) {
        bar *bars = an_xcalloc(nd, sizeof *bars);
        size_t i;
        const json_t *d;
        json_array_foreach(dis, i, d)
        {
            bars[i] = (bar){str(d, "label"), numd(d, "share"), NAN, NAN, NAN};
        }
        an_buf_adds(b, "<h3>Disagreement with the consensus, by consensus label</h3>");
        bar_chart(b, "Disagreement by label", bars, nd, 1, true, NULL, NULL);
        free(bars);
    }
    if (A && K) {
        an_buf_adds(b, "<h3>Confusion per annotator</h3><div class=\"small\">");
        size_t i;
        const json_t *a;
        json_array_foreach(anns, i, a)
        {
            if (i >= MAX_SMALL_CONF) break;
            if (!json_is_array(json_object_get(a, "confusion"))) continue;
            read_matrix(json_object_get(a, "confusion"), K, m);
            an_buf_adds(b, "<figure>");
            heat_map(b, str(a, "name"), names, names, K, m, true, "consensus", "answer");
            an_buf_adds(b, "<figcaption>");
            esc(b, str(a, "name"));
            an_buf_adds(b, "</figcaption></figure>");
        }
        an_buf_adds(b, "</div>");
        if (A > MAX_SMALL_CONF)
            an_buf_addf(b,
                        "<p class=\"muted\">The first %d annotators are shown; report.json "
                        "holds every one.</p>",
                        MAX_SMALL_CONF);
    }
    free(m);
    free(names);
    an_buf_adds(b, "</section>");
}

static void agreement_section(an_buf *b, const json_t *r)
{
    const json_t *list = arr(r, "agreement");
    an_buf_adds(b, "<section id=\"agreement\"><h2>Agreement between annotators</h2>");
    if (!json_array_size(list))
        an_buf_adds(b, "<p class=\"muted\">No control has two annotators on the same task "
                       "yet.</p>");
    size_t i;
    const json_t *c;
    json_array_foreach(list, i, c)
    {
        const json_t *anns = arr(c, "annotators");
        size_t n = json_array_size(anns);
        if (n > MAX_MATRIX) n = MAX_MATRIX;
        an_buf_adds(b, "<h3>");
        esc(b, str(c, "control"));
        an_buf_adds(b, " <span class=\"muted\">(");
        esc(b, str(c, "type"));
        an_buf_adds(b, ")</span></h3><p>");
        esc(b, str(c, "measure"));
        an_buf_adds(b, ": ");
        esc(b, str(c, "unit"));
        an_buf_adds(b, ". Overall ");
        fmt_num(b, numd(c, "value"), 3);
        an_buf_addf(b, " over %lld tasks.", inum(c, "units"));
        if (*str(c, "undefined")) {
            an_buf_adds(b, " Undefined: ");
            esc(b, str(c, "undefined"));
        }
        an_buf_adds(b, "</p>");
        if (!n) continue;
        const char **names = an_xcalloc(n, sizeof *names);
        double *m = an_xmalloc(n * n * sizeof *m);
        for (size_t k = 0; k < n * n; k++)
            m[k] = NAN;
        for (size_t k = 0; k < n; k++)
            names[k] = str(json_array_get(anns, k), "name");
        size_t p;
        const json_t *pr;
        json_array_foreach(arr(c, "pairs"), p, pr)
        {
            size_t x = n, y = n;
            for (size_t k = 0; k < n; k++) {
                const json_t *id = json_object_get(json_array_get(anns, k), "id");
                if (json_equal(id, json_object_get(pr, "a"))) x = k;
                if (json_equal(id, json_object_get(pr, "b"))) y = k;
            }
            if (x < n && y < n) m[x * n + y] = m[y * n + x] = numd(pr, "value");
        }
        heat_map(b, str(c, "control"), names, names, n, m, false, "annotator", "annotator");
        free(names);
        free(m);
    }
    an_buf_adds(b, "</section>");
}

/* Bars of a list of objects: name from name_key (a "control: label" pair for labels). */
static void count_bars(an_buf *b, const char *title, const json_t *list, const char *name_key,
                       const char *count_key)
{
    size_t n = json_array_size(list);
    an_buf_adds(b, "<h3>");
    esc(b, title);
    an_buf_adds(b, "</h3>");
    if (!n) {
        an_buf_adds(b, "<p class=\"muted\">None.</p>");
        return;
    }
    bar *bars = an_xcalloc(n, sizeof *bars);
    an_buf *label_text = an_xcalloc(n, sizeof *label_text);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *name = str(e, name_key);
        if (strcmp(name_key, "label") == 0 && *str(e, "control")) {
            an_buf_addf(&label_text[i], "%s: %s", str(e, "control"), name);
            name = label_text[i].p;
        }
        bars[i] = (bar){name, numd(e, count_key), NAN, NAN, NAN};
    }
    bar_chart(b, title, bars, n, 0, false, NULL, NULL);
    for (i = 0; i < n; i++)
        an_buf_free(&label_text[i]);
    free(label_text);
    free(bars);
}

static void errors_section(an_buf *b, const json_t *r)
{
    const json_t *e = json_object_get(r, "errors");
    an_buf_adds(b, "<section id=\"errors\"><h2>QC findings</h2>");
    an_buf_addf(b,
                "<p>%lld findings of the project's QC rules (at submit and in batch "
                "runs).</p>",
                inum(e, "findings"));
    const json_t *rules = arr(e, "by_rule");
    if (json_array_size(rules)) {
        an_buf_adds(b, "<table>");
        static const char *const h[] = {"Rule", "Errors", "Warnings", "Total"};
        th_row(b, h, 4);
        size_t i;
        const json_t *x;
        json_array_foreach(rules, i, x)
        {
            an_buf_adds(b, "<tr>");
            td_text(b, str(x, "rule"));
            td_int(b, inum(x, "error"));
            td_int(b, inum(x, "warning"));
            td_int(b, inum(x, "total"));
            an_buf_adds(b, "</tr>");
        }
        an_buf_adds(b, "</tbody></table>");
    }
    count_bars(b, "Findings by rule", rules, "rule", "total");
    count_bars(b, "Findings by annotator", arr(e, "by_annotator"), "name", "total");
    count_bars(b, "Findings by label", arr(e, "by_label"), "label", "findings");
    an_buf_adds(b, "</section>");
}

static void trends_section(an_buf *b, const json_t *r)
{
    const json_t *t = json_object_get(r, "trends");
    const json_t *list = arr(t, "days");
    size_t n = json_array_size(list);
    an_buf_adds(b, "<section id=\"trends\"><h2>Trends by day (UTC)</h2>");
    if (!n) {
        an_buf_adds(b, "<p class=\"muted\">No annotations yet.</p></section>");
        return;
    }
    const char **xs = an_xcalloc(n, sizeof *xs);
    double *v = an_xcalloc(4 * n, sizeof *v);
    double maxn = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(list, i, d)
    {
        xs[i] = str(d, "day");
        v[i] = numd(d, "annotations");
        if (isfinite(v[i]) && v[i] > maxn) maxn = v[i];
        v[n + i] = numd(d, "findings_share");
        v[2 * n + i] = numd(d, "consensus_share");
        v[3 * n + i] = numd(d, "gold_accuracy");
    }
    series count = {"annotations submitted", "s1", v};
    an_buf_adds(b, "<h3>Annotations submitted per day</h3>");
    line_chart(b, "Annotations per day", xs, n, &count, 1, maxn > 0 ? maxn : 1, false);
    series shares[] = {{"with findings", "s4", v + n},
                       {"agreeing with consensus", "s1", v + 2 * n},
                       {"gold accuracy", "s3", v + 3 * n}};
    an_buf_adds(b, "<h3>Shares per day");
    if (*str(t, "control")) {
        an_buf_adds(b, " <span class=\"muted\">(consensus and gold: control ");
        esc(b, str(t, "control"));
        an_buf_adds(b, ")</span>");
    }
    an_buf_adds(b, "</h3>");
    line_chart(b, "Shares per day", xs, n, shares, 3, 1, true);
    an_buf_adds(b, "<table>");
    static const char *const h[] = {"Day", "Annotations", "With findings", "Agree with consensus",
                                    "Gold accuracy"};
    th_row(b, h, 5);
    json_array_foreach(list, i, d)
    {
        an_buf_adds(b, "<tr>");
        td_text(b, str(d, "day"));
        td_int(b, inum(d, "annotations"));
        td_pct(b, numd(d, "findings_share"));
        td_pct(b, numd(d, "consensus_share"));
        td_pct(b, numd(d, "gold_accuracy"));
        an_buf_adds(b, "</tr>");
    }
    an_buf_adds(b, "</tbody></table></section>");
    free(xs);
    free(v);
}

/* The bias check (docs/qc.md, "Bias checks"): label shares per group, parity, the test, and
 * annotators whose labels depend on the group more than their peers' do. */
static void bias_section(an_buf *b, const json_t *bias)
{
    an_buf_adds(b, "<section id=\"bias\"><h2>Bias check</h2>");
    if (str(bias, "error")[0]) {
        an_buf_adds(b, "<p class=\"muted\">The check could not run: ");
        esc(b, str(bias, "error"));
        an_buf_adds(b, "</p></section>");
        return;
    }
    an_buf_adds(b, "<p>Groups from ");
    esc(b, str(bias, "groups_from"));
    an_buf_addf(b, ": %lld of %lld tasks have a group (%lld with several, left out).</p>",
                inum(bias, "tasks_grouped"), inum(bias, "tasks"), inum(bias, "tasks_mixed"));
    const json_t *groups = arr(bias, "groups"), *parity = json_object_get(bias, "parity");
    if (json_array_size(groups) && json_is_object(parity)) {
        an_buf_adds(b, "<table><thead><tr><th>Group</th><th>Labels</th>");
        const char *label;
        const json_t *v;
        json_object_foreach((json_t *)parity, label, v) tag_text(b, "th", label);
        an_buf_adds(b, "</tr></thead><tbody>");
        size_t i;
        const json_t *g;
        json_array_foreach(groups, i, g)
        {
            an_buf_adds(b, "<tr>");
            td_text(b, str(g, "group"));
            long long total = inum(g, "labels");
            td_int(b, total);
            const json_t *counts = json_object_get(g, "counts");
            json_object_foreach((json_t *)parity, label, v)
                td_pct(b, total ? (double)inum(counts, label) / (double)total : NAN);
            an_buf_adds(b, "</tr>");
        }
        an_buf_adds(b, "<tr><th>Parity difference</th><td></td>");
        json_object_foreach((json_t *)parity, label, v) td_pct(b, json_number_value(v));
        an_buf_adds(b, "</tr></tbody></table>");
    }
    const json_t *t = json_object_get(bias, "test");
    if (json_is_object(t))
        an_buf_addf(b,
                    "<p>Pearson's chi-square %.3f, %lld degrees of freedom, p = %.3g; "
                    "Cram\xc3\xa9r's V %.3f (n = %lld).</p>",
                    numd(t, "statistic"), inum(t, "dof"), numd(t, "p"), numd(t, "cramers_v"),
                    inum(t, "n"));
    else
        an_buf_adds(b, "<p class=\"muted\">The test is undefined (fewer than two groups or "
                       "labels).</p>");
    const json_t *anns = arr(bias, "annotators");
    if (json_array_size(anns)) {
        an_buf_adds(b, "<table>");
        static const char *const h[] = {"Annotator", "Labels", "Own V", "p", "Peers' V", "Flagged"};
        th_row(b, h, 6);
        size_t i;
        const json_t *a;
        json_array_foreach(anns, i, a)
        {
            const json_t *own = json_object_get(a, "own"), *peers = json_object_get(a, "peers");
            an_buf_adds(b, "<tr>");
            td_text(b, str(a, "name"));
            td_int(b, inum(a, "labels"));
            td_num(b, json_is_object(own) ? numd(own, "cramers_v") : NAN, 3);
            td_num(b, json_is_object(own) ? numd(own, "p") : NAN, 3);
            td_num(b, json_is_object(peers) ? numd(peers, "cramers_v") : NAN, 3);
            td_text(b, json_is_true(json_object_get(a, "flagged"))
                           ? "yes: depends on the group more than peers"
                       : json_is_true(json_object_get(a, "tested")) ? "no"
                                                                    : "not tested");
            an_buf_adds(b, "</tr>");
        }
        an_buf_adds(b, "</tbody></table>");
    }
    an_buf_adds(b, "</section>");
}

void an_report_html(const json_t *r, an_buf *b)
{
    const json_t *p = json_object_get(r, "project");
    an_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>QC report: ");
    esc(b, str(p, "name"));
    an_buf_adds(b, "</title><style>");
    an_buf_adds(b, CSS);
    an_buf_adds(b, "</style></head><body><header><h1>QC report: ");
    esc(b, str(p, "name"));
    an_buf_adds(b, "</h1><p class=\"muted\">Project ");
    an_buf_addf(b, "%lld", inum(p, "id"));
    an_buf_adds(b, " \xc2\xb7 generated ");
    esc(b, str(r, "generated_at"));
    an_buf_adds(b, "</p></header>");
    summary_section(b, r);
    size_t i;
    const json_t *c;
    json_array_foreach(arr(r, "controls"), i, c)
    {
        control_section(b, c);
    }
    if (!json_array_size(arr(r, "controls")))
        an_buf_adds(b, "<section><h2>Consensus</h2><p class=\"muted\">The labeling config has no "
                       "single-choice Choices control, so there is no consensus label to "
                       "compare with.</p></section>");
    agreement_section(b, r);
    errors_section(b, r);
    trends_section(b, r);
    const json_t *bias = json_object_get(r, "bias");
    if (json_is_object(bias)) bias_section(b, bias);
    an_buf_adds(b, "</body></html>\n");
}
