/* charts.c: the gnuplot scripts and data files of the report. Every chart
 * is NAME.gp + NAME*.dat; the script draws the same body twice, to
 * NAME.png (pngcairo) and NAME.svg. Labels from the data (model names,
 * devices) are reduced to a safe character set before they reach a
 * script, and the scripts are run by gnuplot.c without a shell. */
#include "reports_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TREND_KEYS 12 /* one distinct colour and point type each */
#define MAX_DEVICES 8

void reports_label(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < len; src++)
        dst[i++] = (char)((*src >= 'a' && *src <= 'z') || (*src >= 'A' && *src <= 'Z') ||
                                  (*src >= '0' && *src <= '9') || strchr("._,:@+ -", *src)
                              ? *src
                              : '_');
    if (len)
        dst[i] = '\0';
}

int reports_main_device(const reports_data_t *d)
{
    int best = -1;
    size_t best_n = 0;
    for (size_t i = 0; i < d->n_devices; i++) {
        size_t n = 0;
        for (size_t k = 0; k < d->n_cells; k++)
            n += !strcmp(d->cells[k].device_id, d->devices[i].id);
        if (best < 0 || n > best_n) {
            best = (int)i;
            best_n = n;
        }
    }
    return best;
}

static FILE *open_in(const char *dir, const char *name, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%.4000s/%.32s%.8s", dir, name, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        mb_err_set(mb_err_from_errno(errno), "cannot write %s: %s; check the --out directory",
                   path, strerror(errno));
    return f;
}

static int close_file(FILE *f, const char *dir, const char *name)
{
    if (ferror(f) | (fclose(f) != 0))
        return mb_err_set(MB_EIO, "writing %s/%s failed (disk full?)", dir, name);
    return 0;
}

/* "?" is gnuplot's missing value (set datafile missing "?"). */
static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.6g", v);
    else
        fputs(" ?", f);
}

typedef void (*body_fn)(FILE *f, const void *ctx);

/* The script: one body, drawn to PNG and then to SVG. */
static int write_script(const char *dir, const char *name, int w, int h, body_fn body,
                        const void *ctx)
{
    FILE *f = open_in(dir, name, ".gp");
    if (!f)
        return mb_err_from_errno(errno) ? mb_err_from_errno(errno) : MB_EIO;
    fprintf(f, "# %s.gp: written by mobench report; run 'gnuplot %s.gp' in this directory\n"
               "# to redraw %s.png and %s.svg from the .dat files beside it.\n"
               "set datafile missing '?'\nset encoding utf8\n",
            name, name, name, name);
    static const char *const terms[2][2] = {
        {"pngcairo", ".png"},
        {"svg", ".svg"},
    };
    for (int t = 0; t < 2; t++) {
        fprintf(f, "\nset terminal %s size %d,%d noenhanced font 'DejaVu Sans,10'%s\n"
                   "set output '%s%s'\nreset\nset datafile missing '?'\n",
                terms[t][0], w, h, t ? " background '#ffffff'" : "", name, terms[t][1]);
        body(f, ctx);
        fputs("unset multiplot\nset output\n", f);
    }
    return close_file(f, dir, name);
}

/* A chart without data: its title and a note in the middle (ctx: two strings). */
static void body_empty(FILE *f, const void *ctx)
{
    fprintf(f, "set title '%s'\nunset key\nset xrange [0:1]\nset yrange [0:1]\nunset xtics\n"
               "unset ytics\nset label 1 '%s' at graph 0.5, graph 0.5 center\nplot 2 notitle\n",
            ((const char *const *)ctx)[0], ((const char *const *)ctx)[1]);
}

/* ---- 1: prefill and decode tokens/s ------------------------------------------ */

typedef struct {
    const reports_cell_t *pp, *tg;
} mr_t; /* one model x recipe on the main device */

typedef struct {
    mr_t *v;
    size_t n;
    int pp_tokens, tg_tokens;
} mr_list_t;

static int mr_collect(const reports_data_t *d, const char *dev, mr_list_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < d->n_cells; i++) {
        const reports_cell_t *c = &d->cells[i];
        if (strcmp(c->device_id, dev) || strcmp(c->status, "ok") || c->n_depth ||
            (c->kind != REPORTS_TEST_PP && c->kind != REPORTS_TEST_TG))
            continue;
        mr_t *m = NULL;
        for (size_t k = 0; k < out->n && !m; k++) {
            const reports_cell_t *x = out->v[k].pp ? out->v[k].pp : out->v[k].tg;
            if (!strcmp(x->model, c->model) && !strcmp(x->recipe, c->recipe))
                m = &out->v[k];
        }
        if (!m) {
            mr_t *p = realloc(out->v, (out->n + 1) * sizeof *p);
            if (!p)
                return mb_err_set(MB_ENOMEM, "out of memory for chart data");
            out->v = p;
            m = &out->v[out->n++];
            m->pp = m->tg = NULL;
        }
        /* newest cell; among equal times the larger test */
        const reports_cell_t **slot = c->kind == REPORTS_TEST_PP ? &m->pp : &m->tg;
        if (!*slot || c->t_start > (*slot)->t_start ||
            (c->t_start == (*slot)->t_start && c->n_prompt + c->n_gen > (*slot)->n_prompt + (*slot)->n_gen))
            *slot = c;
    }
    for (size_t k = 0; k < out->n; k++) {
        if (out->v[k].pp)
            out->pp_tokens = MB_MAX(out->pp_tokens, out->v[k].pp->n_prompt);
        if (out->v[k].tg)
            out->tg_tokens = MB_MAX(out->tg_tokens, out->v[k].tg->n_gen);
    }
    return 0;
}

static double med(const reports_cell_t *c)
{
    if (!c)
        return NAN;
    return isfinite(c->median_ts) ? c->median_ts : reports_median(c->samples_ts, c->n_samples);
}

static void ci(const reports_cell_t *c, double *lo, double *hi)
{
    double m = med(c);
    *lo = c && isfinite(c->ci_lo_ts) ? c->ci_lo_ts : m;
    *hi = c && isfinite(c->ci_hi_ts) ? c->ci_hi_ts : m;
}

static void mr_label(const mr_t *m, char *buf, size_t len)
{
    const reports_cell_t *x = m->pp ? m->pp : m->tg;
    char raw[128];
    snprintf(raw, sizeof raw, "%s %s", x->model, x->recipe);
    reports_label(buf, len, raw);
}

/* Histograms drop the slots of trailing missing values; a fixed x range
 * keeps every model x recipe in place (ctx: the number of rows). */
static void hist_xrange(FILE *f, const void *ctx)
{
    fprintf(f, "set xrange [-0.6:%.1f]\n", (double)*(const size_t *)ctx - 0.4);
}

typedef struct {
    size_t rows; /* first: hist_xrange reads it */
    bool logy;   /* rates spanning more than 20x (a tiny test model beside real ones) */
} tps_ctx_t;

static void body_tps(FILE *f, const void *ctx)
{
    const tps_ctx_t *c = ctx;
    hist_xrange(f, &c->rows);
    fprintf(f, "set multiplot layout 2,1\n"
          "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
          "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n"
          "%s\nset xtics rotate by -30 left font ',8'\nset bmargin 6\n"
          "set key top right\n",
          c->logy ? "set logscale y\nset yrange [*:*]" : "set yrange [0:*]");
    fputs(
          "set title 'Prefill tokens/s (median, 95% CI)'\nset ylabel 'tokens/s'\n"
          "plot 'tps.dat' using 2:3:4:xtic(1) title 'prefill' lc rgb '#4e79a7'\n"
          "set title 'Decode tokens/s (median, 95% CI)'\n"
          "plot 'tps.dat' using 5:6:7:xtic(1) title 'decode' lc rgb '#f28e2b'\n",
          f);
}

static int chart_tps(const mr_list_t *m, const char *dir, reports_chart_t *ch, const char *devname)
{
    snprintf(ch->name, sizeof ch->name, "tps");
    snprintf(ch->title, sizeof ch->title, "Prefill and decode speed per model x recipe");
    snprintf(ch->caption, sizeof ch->caption,
             "Median tokens/s of the newest pp%d and tg%d cells on %s, with the 95%% CI of the "
             "reps as error bars.", m->pp_tokens, m->tg_tokens, devname);
    FILE *f = open_in(dir, "tps", ".dat");
    if (!f)
        return MB_EIO;
    fputs("# label pp_median pp_lo pp_hi tg_median tg_lo tg_hi (tokens/s; ? = not measured)\n", f);
    for (size_t k = 0; k < m->n; k++) {
        char lab[128];
        double lo, hi;
        mr_label(&m->v[k], lab, sizeof lab);
        fprintf(f, "\"%s\"", lab);
        num(f, med(m->v[k].pp));
        ci(m->v[k].pp, &lo, &hi);
        num(f, lo);
        num(f, hi);
        num(f, med(m->v[k].tg));
        ci(m->v[k].tg, &lo, &hi);
        num(f, lo);
        num(f, hi);
        fputc('\n', f);
    }
    if (m->n == 0)
        fputs("\"none\" ? ? ? ? ? ?\n", f);
    ch->has_data = m->n > 0;
    int rc = close_file(f, dir, "tps.dat");
    tps_ctx_t c = {.rows = m->n ? m->n : 1};
    double lo = INFINITY, hi = 0;
    for (size_t k = 0; k < m->n; k++) {
        double v[2] = {med(m->v[k].pp), med(m->v[k].tg)};
        for (int i = 0; i < 2; i++)
            if (v[i] > 0) {
                lo = MB_MIN(lo, v[i]);
                hi = MB_MAX(hi, v[i]);
            }
    }
    c.logy = hi > 20 * lo;
    if (c.logy)
        snprintf(ch->caption + strlen(ch->caption), sizeof ch->caption - strlen(ch->caption),
                 " Log scale: the rates span more than 20x.");
    if (!rc && !m->n) { /* gnuplot refuses a plot with no valid point */
        static const char *const msg[2] = {"Prefill and decode tokens/s",
                                           "no finished pp or tg cells in this selection"};
        return write_script(dir, "tps", 1000, 720, body_empty, msg);
    }
    return rc ? rc : write_script(dir, "tps", 1000, 720, body_tps, &c);
}

/* ---- 2: memory vs quality ------------------------------------------------------- */

/* Labels are laid out here, not by gnuplot: with fixed margins and axis
 * ranges the pixel position of every point is known, so each label is put
 * where it overlaps no other label and no point (greedy, Pareto front
 * first). A point whose full label finds no room gets its number only; the
 * table under the chart lists every point by number. */
#define MQ_W 1000
#define MQ_H 600
#define MQ_L 0.08 /* plot area, screen fractions */
#define MQ_R 0.97
#define MQ_B 0.11
#define MQ_T 0.85
#define MQ_CHAR_W 6.2  /* px per character of 'DejaVu Sans,8' (measured: 5.6 average) */
#define MQ_CHAR_H 12.0 /* px per line */

typedef struct {
    double mem, kld, tg;
    char label[128];  /* "model recipe" */
    char ref[16];     /* quality reference */
    bool front;       /* on the Pareto front */
    double px, py, r; /* centre and marker radius, pixels from the bottom left */
    int placed;       /* 0 no label, 1 number, 2 full label */
    double lx, ly;    /* label anchor, pixels */
    char just;        /* 'l', 'r' or 'c' */
    char text[160];
} mq_pt_t;

typedef struct {
    mq_pt_t *p;
    size_t n;
    bool logy;
    double x1, y0, y1; /* axis ranges (x from 0) */
    double max_tg;
    char ylabel[96];  /* axis: "mean KLD vs the F32 forward pass (lower is better)" */
    char yref[200];   /* the same in words, for the caption */
} mq_ctx_t;

typedef struct {
    double x0, y0, x1, y1;
} box_t;

static bool box_hits(box_t a, box_t b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

static double mq_size(const mq_ctx_t *c, double tg)
{
    return 1.0 + 3.0 * (isfinite(tg) && c->max_tg > 0 ? tg / c->max_tg : 0.0);
}

static void mq_layout(mq_ctx_t *c)
{
    double pl = MQ_W * MQ_L, pr = MQ_W * MQ_R, pb = MQ_H * MQ_B, pt = MQ_H * MQ_T;
    double ly0 = c->logy ? log10(c->y0) : c->y0, ly1 = c->logy ? log10(c->y1) : c->y1;
    for (size_t i = 0; i < c->n; i++) {
        mq_pt_t *p = &c->p[i];
        double y = c->logy ? log10(p->kld) : p->kld;
        p->px = pl + p->mem / c->x1 * (pr - pl);
        p->py = pb + (y - ly0) / (ly1 - ly0) * (pt - pb);
        p->r = 3.0 * mq_size(c, p->tg) + 1.0; /* pngcairo: ps 1 is a 6 px disc */
        p->placed = 0;
    }
    box_t *used = malloc((c->n ? c->n : 1) * sizeof *used);
    if (!used)
        return; /* no labels at all: the table still lists every point */
    size_t nu = 0;
    /* front first (memory order), then the others in memory order */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->n; i++) {
            mq_pt_t *p = &c->p[i];
            if (p->front != (pass == 0))
                continue;
            for (int kind = 2; kind >= 1 && !p->placed; kind--) {
                char text[160];
                if (kind == 2 && isfinite(p->tg))
                    snprintf(text, sizeof text, "%zu: %s, %.1f t/s", i + 1, p->label, p->tg);
                else if (kind == 2)
                    snprintf(text, sizeof text, "%zu: %s", i + 1, p->label);
                else
                    snprintf(text, sizeof text, "%zu", i + 1);
                double w = MQ_CHAR_W * (double)strlen(text), h = MQ_CHAR_H, g = p->r + 2.0;
                /* right, left, above, below, then the diagonals */
                const struct { double dx, dy; char j; } pos[8] = {
                    {g, 0, 'l'}, {-g, 0, 'r'}, {0, g + h / 2, 'c'}, {0, -g - h / 2, 'c'},
                    {g * 0.7, g * 0.7 + h / 2, 'l'}, {g * 0.7, -g * 0.7 - h / 2, 'l'},
                    {-g * 0.7, g * 0.7 + h / 2, 'r'}, {-g * 0.7, -g * 0.7 - h / 2, 'r'},
                };
                for (int k = 0; k < 8 && !p->placed; k++) {
                    double ax = p->px + pos[k].dx, ay = p->py + pos[k].dy;
                    double x0 = pos[k].j == 'l' ? ax : pos[k].j == 'r' ? ax - w : ax - w / 2;
                    box_t b = {x0 - 1, ay - h / 2 - 1, x0 + w + 1, ay + h / 2 + 1};
                    bool ok = b.x0 >= pl && b.x1 <= pr && b.y0 >= pb && b.y1 <= pt;
                    for (size_t u = 0; ok && u < nu; u++)
                        ok = !box_hits(b, used[u]);
                    for (size_t q = 0; ok && q < c->n; q++) {
                        box_t disc = {c->p[q].px - c->p[q].r, c->p[q].py - c->p[q].r,
                                      c->p[q].px + c->p[q].r, c->p[q].py + c->p[q].r};
                        ok = !box_hits(b, disc);
                    }
                    if (ok) {
                        used[nu++] = b;
                        p->placed = kind;
                        p->lx = ax;
                        p->ly = ay;
                        p->just = pos[k].j;
                        snprintf(p->text, sizeof p->text, "%s", text);
                    }
                }
            }
        }
    free(used);
}

static void body_mq(FILE *f, const void *ctx)
{
    const mq_ctx_t *c = ctx;
    /* title and key as screen-placed text above the fixed plot area */
    fprintf(f, "set label 1001 'Memory vs quality loss (point size: decode tokens/s; numbers: "
               "the table under the chart)' at screen 0.5, screen 0.965 center\n"
               "set xlabel 'resident memory, GB (weights + KV for 4096 tokens + scratch)'\n"
               "set ylabel '%s'\n%s"
               "set grid\nset key at screen %.3f, screen %.3f center top horizontal\n"
               "set lmargin at screen %.3f\nset rmargin at screen %.3f\n"
               "set bmargin at screen %.3f\nset tmargin at screen %.3f\n"
               "set xrange [0:%.6g]\nset yrange [%.6g:%.6g]\n",
            c->ylabel, c->logy ? "set logscale y\nset format y '%g'\n" : "",
            (MQ_L + MQ_R) / 2, MQ_T + 0.07, MQ_L, MQ_R, MQ_B, MQ_T, c->x1, c->y0, c->y1);
    int n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const mq_pt_t *p = &c->p[i];
        if (!p->placed)
            continue;
        fprintf(f, "set label %d '%s' at screen %.4f, screen %.4f %s font ',8'%s front\n", ++n,
                p->text, p->lx / MQ_W, p->ly / MQ_H,
                p->just == 'l' ? "left" : p->just == 'r' ? "right" : "center",
                p->front ? " tc rgb '#b3261e'" : "");
    }
    fprintf(f, "plot 'mq.dat' using 3:4:(1+3*$5/%.6g) with points pt 7 ps variable "
               "lc rgb '#4e79a7' title 'model x recipe', \\\n"
               "     'mq_pareto.dat' using 1:2 with linespoints lw 2 pt 6 ps 2.2 lc rgb '#e15759' "
               "title 'Pareto front'\n",
            c->max_tg > 0 ? c->max_tg : 1.0);
}

static int cmp_mq(const void *a, const void *b)
{
    const mq_pt_t *x = a, *y = b;
    if (x->mem != y->mem)
        return x->mem < y->mem ? -1 : 1;
    return (x->kld > y->kld) - (x->kld < y->kld);
}

/* What the KLD is measured against: a short axis label and a sentence. */
static bool mq_ref_text(const mq_pt_t *p, size_t n, char *axis, size_t alen, char *buf,
                        size_t len)
{
    const char *ref = NULL;
    bool mixed = false;
    for (size_t i = 0; i < n; i++) {
        const char *r = p[i].ref[0] ? p[i].ref : "?";
        if (!ref)
            ref = r;
        else if (strcmp(ref, r))
            mixed = true;
    }
    if (mixed) {
        snprintf(axis, alen, "mean KLD vs each result's reference (lower is better)");
        snprintf(buf, len, "KLD: mean KL divergence per token against each result's reference "
                           "(column 'reference' of the table)");
    } else if (!ref || !strcmp(ref, "?")) {
        snprintf(axis, alen, "mean KLD vs the reference (lower is better)");
        snprintf(buf, len, "KLD: mean KL divergence per token against the reference the "
                           "quality run used (not recorded)");
    } else {
        snprintf(axis, alen, "mean KLD vs the %s forward pass (lower is better)", ref);
        snprintf(buf, len, "KLD: mean KL divergence per token between the %s forward pass of "
                           "the same weights (the reference) and the recipe's", ref);
    }
    return mixed;
}

/* The table under the chart: every point by number (HTML, malloc'd). */
static char *mq_table(const mq_pt_t *p, size_t n, bool mixed_ref)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "<div class=\"tw\"><table>\n<tr><th>#</th><th>model x recipe</th>"
               "<th>resident GB</th><th>mean KLD</th>%s<th>decode t/s</th><th>Pareto front</th>"
               "<th>label on the chart</th></tr>\n", mixed_ref ? "<th>reference</th>" : "");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "<tr><td class=\"n\">%zu</td><td>", i + 1);
        reports_html_escape(f, p[i].label);
        fprintf(f, "</td><td class=\"n\">%.3f</td><td class=\"n\">%.3g</td>", p[i].mem, p[i].kld);
        if (mixed_ref) {
            fputs("<td>", f);
            reports_html_escape(f, p[i].ref[0] ? p[i].ref : "-");
            fputs("</td>", f);
        }
        if (isfinite(p[i].tg))
            fprintf(f, "<td class=\"n\">%.1f</td>", p[i].tg);
        else
            fputs("<td class=\"n\">-</td>", f);
        fprintf(f, "<td>%s</td><td>%s</td></tr>\n", p[i].front ? "yes" : "",
                p[i].placed == 2 ? "name" : p[i].placed == 1 ? "number" : "none (crowded)");
    }
    fputs("</table></div>\n", f);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int chart_mq(const reports_data_t *d, const reports_classes_t *cl, const char *dir,
                    const char *dev, reports_chart_t *ch)
{
    snprintf(ch->name, sizeof ch->name, "mq");
    snprintf(ch->title, sizeof ch->title, "Memory vs quality (Pareto front)");
    reports_candidate_t *cs;
    size_t n;
    int rc = reports_candidates_build(d, &cs, &n);
    if (rc)
        return rc;
    mq_pt_t *pts = calloc(n ? n : 1, sizeof *pts);
    size_t np = 0;
    bool synthetic = false;
    bool all_pos = true;
    size_t n_test = 0;
    double max_tg = 0;
    for (size_t i = 0; pts && i < n; i++) {
        if (strcmp(cs[i].device_id, dev) || !isfinite(cs[i].kld) || !cs[i].model_bytes)
            continue;
        if (cl->exclude[0] && reports_model_in(cl->exclude, cs[i].model)) {
            n_test++;
            continue;
        }
        mq_pt_t *p = &pts[np++];
        p->mem = (double)reports_candidate_resident(cl, &cs[i], 4096) / 1e9;
        p->kld = cs[i].kld;
        p->tg = cs[i].tg_ts;
        char raw[128];
        snprintf(raw, sizeof raw, "%s %s", cs[i].model, cs[i].recipe);
        reports_label(p->label, sizeof p->label, raw);
        reports_label(p->ref, sizeof p->ref, cs[i].kld_ref);
        synthetic |= !strcmp(cs[i].weights, "synthetic");
        all_pos &= p->kld > 0;
        if (isfinite(p->tg))
            max_tg = MB_MAX(max_tg, p->tg);
    }
    free(cs);
    if (!pts)
        return mb_err_set(MB_ENOMEM, "out of memory for chart data");
    qsort(pts, np, sizeof *pts, cmp_mq);
    double best_kld = INFINITY, kmin = INFINITY, kmax = 0, mmax = 0;
    for (size_t i = 0; i < np; i++) {
        if (pts[i].kld < best_kld) { /* sorted by memory: a new lowest KLD is on the front */
            best_kld = pts[i].kld;
            pts[i].front = true;
        }
        kmin = MB_MIN(kmin, pts[i].kld);
        kmax = MB_MAX(kmax, pts[i].kld);
        mmax = MB_MAX(mmax, pts[i].mem);
    }
    mq_ctx_t c = {.p = pts, .n = np, .logy = all_pos && np > 0, .max_tg = max_tg};
    c.x1 = mmax > 0 ? mmax * 1.1 : 1.0;
    if (c.logy) { /* a third of a decade beyond the extremes, room for labels */
        c.y0 = kmin / 2.2;
        c.y1 = kmax * 2.2;
    } else {
        double span = kmax > kmin ? kmax - kmin : (kmax > 0 ? kmax : 1.0);
        c.y0 = MB_MIN(0.0, kmin - 0.1 * span);
        c.y1 = kmax + 0.15 * span;
    }
    bool mixed = mq_ref_text(pts, np, c.ylabel, sizeof c.ylabel, c.yref, sizeof c.yref);
    mq_layout(&c);

    FILE *f = open_in(dir, "mq", ".dat");
    FILE *g = f ? open_in(dir, "mq_pareto", ".dat") : NULL;
    if (!f || !g) {
        if (f)
            fclose(f);
        free(pts);
        return MB_EIO;
    }
    fputs("# number label resident_GB mean_kld decode_tokens_per_s(0 = not measured) "
          "reference on_front\n", f);
    fputs("# Pareto front: no other point has both less memory and less KLD\n# resident_GB mean_kld\n", g);
    size_t n_num = 0, n_none = 0, n_front = 0;
    for (size_t i = 0; i < np; i++) {
        fprintf(f, "%zu \"%s\"", i + 1, pts[i].label);
        num(f, pts[i].mem);
        num(f, pts[i].kld);
        fprintf(f, " %.6g \"%s\" %d\n", isfinite(pts[i].tg) ? pts[i].tg : 0.0,
                pts[i].ref[0] ? pts[i].ref : "?", pts[i].front);
        if (pts[i].front) {
            fprintf(g, "%.6g %.6g\n", pts[i].mem, pts[i].kld);
            n_front++;
        }
        n_num += pts[i].placed == 1;
        n_none += pts[i].placed == 0;
    }
    ch->has_data = np > 0;
    ch->html = np ? mq_table(pts, np, mixed) : NULL;
    snprintf(ch->caption, sizeof ch->caption,
             "%zu model x recipe with quality measured; %zu on the Pareto front (red: no other "
             "point has both less memory and less KLD). Resident memory includes the KV "
             "cache for 4096 tokens where its size is known.%s%s%s",
             np, n_front,
             n_num || n_none ? " Where names would overlap a point shows its number (table "
                               "below)." : "",
             n_test ? " Test models (reports/classes.ini [candidates] exclude) are left out." : "",
             synthetic ? " KLD of synthetic weights is the quantization error on random weights "
                         "of the real shapes, not a real model's quality loss." : "");
    /* the axis label says what the KLD is measured against; the caption too */
    if (np) {
        size_t l = strlen(ch->caption);
        snprintf(ch->caption + l, sizeof ch->caption - l, " %s.", c.yref);
    }
    if ((rc = close_file(f, dir, "mq.dat")) | close_file(g, dir, "mq_pareto.dat")) {
        free(pts);
        return rc ? rc : MB_EIO;
    }
    if (!np) {
        free(pts);
        static const char *const msg[2] = {"Memory vs quality",
                                           "no quality results (KLD) in this selection"};
        return write_script(dir, "mq", MQ_W, MQ_H, body_empty, msg);
    }
    rc = write_script(dir, "mq", MQ_W, MQ_H, body_mq, &c);
    free(pts);
    return rc;
}

/* ---- 3: temperature and frequency over time ---------------------------------------- */

typedef struct {
    bool temp, freq, tps;
    bool cells; /* the run has cells with a median */
    char run[16];
    double tmax;
} sens_ctx_t;

static void body_sensors(FILE *f, const void *ctx)
{
    const sens_ctx_t *c = ctx;
    fprintf(f, "set multiplot layout 2,1\nset grid\nset xlabel 'seconds since the run started'\n"
               "set xrange [0:%.3f]\nset title 'Temperature and CPU frequency, run %s'\n",
            c->tmax > 0 ? c->tmax * 1.02 : 1.0, c->run);
    if (!c->temp && !c->freq) {
        fputs("set yrange [0:1]\nset label 1 'no sensors: this device exposes no thermal zone "
              "or frequency readings' at graph 0.5, graph 0.6 center\n"
              "plot 'sensors.dat' using 1:(0) with lines lw 2 lc rgb '#999999' title 'no sensors'\n"
              "unset label 1\nset yrange [*:*]\n",
              f);
    } else {
        fputs("set ylabel 'deg C'\nset y2label 'MHz'\nset ytics nomirror\nset y2tics\n", f);
        fprintf(f, "plot %s%s%s\n",
                c->temp ? "'sensors.dat' using 1:2 with linespoints pt 7 ps 0.4 lc rgb '#e15759' "
                          "title 'temperature'" : "",
                c->temp && c->freq ? ", " : "",
                c->freq ? "'sensors.dat' using 1:3 axes x1y2 with linespoints pt 7 ps 0.4 lc rgb "
                          "'#4e79a7' title 'frequency'" : "");
        fputs("unset y2tics\nunset y2label\nset ytics mirror\n", f);
    }
    fputs("set title 'Tokens/s during the run'\nset ylabel 'tokens/s'\nset yrange [0:*]\n", f);
    if (!c->cells && !c->tps) { /* nothing to plot: a note instead of a gnuplot error */
        fputs("set yrange [0:1]\nset label 2 'no finished cells in this run' at graph 0.5, "
              "graph 0.5 center\nplot 'sensors.dat' using 1:(0) with lines lc rgb '#999999' "
              "notitle\n", f);
        return;
    }
    fprintf(f, "plot 'sensors_tps.dat' using 1:($3==1?$2:1/0) with points pt 7 ps 1.2 lc rgb "
               "'#f28e2b' title 'decode cells (median)', '' using 1:($3==0?$2:1/0) with points "
               "pt 5 lc rgb '#4e79a7' title 'prefill cells (median)'%s\n",
            c->tps ? ", 'sensors.dat' using 1:4 with lines lc rgb '#59a14f' title '5 s windows'" : "");
}

static int chart_sensors(const reports_data_t *d, const char *dir, reports_chart_t *ch)
{
    snprintf(ch->name, sizeof ch->name, "sensors");
    snprintf(ch->title, sizeof ch->title, "Temperature and frequency over time");
    const reports_run_t *run = d->n_runs ? &d->runs[d->n_runs - 1] : NULL;
    sens_ctx_t c = {0};
    snprintf(c.run, sizeof c.run, "%.8s", run ? run->id : "none");
    reports_label(c.run, sizeof c.run, c.run);
    double t0 = run ? run->t_start : 0;
    FILE *f = open_in(dir, "sensors", ".dat");
    FILE *g = f ? open_in(dir, "sensors_tps", ".dat") : NULL;
    if (!f || !g) {
        if (f)
            fclose(f);
        return MB_EIO;
    }
    fputs("# seconds temp_C freq_MHz window_tokens_per_s (? = no reading)\n", f);
    fputs("# seconds cell_median_tokens_per_s kind (0 prefill, 1 decode, 2 other)\n", g);
    size_t n = 0;
    for (size_t i = 0; run && i < d->n_sensors; i++) {
        const reports_sensor_t *s = &d->sensors[i];
        if (strcmp(s->run_id, run->id))
            continue;
        fprintf(f, "%.3f", s->t - t0);
        c.tmax = MB_MAX(c.tmax, s->t - t0);
        num(f, s->temp_c);
        num(f, s->freq_mhz);
        num(f, s->ts);
        fputc('\n', f);
        c.temp |= isfinite(s->temp_c);
        c.freq |= isfinite(s->freq_mhz);
        c.tps |= isfinite(s->ts);
        n++;
    }
    size_t nc = 0;
    double tmax = 0;
    for (size_t i = 0; run && i < d->n_cells; i++) {
        const reports_cell_t *x = &d->cells[i];
        if (strcmp(x->run_id, run->id) || !isfinite(med(x)))
            continue;
        fprintf(g, "%.3f %.6g %d\n", x->t_start - t0, med(x),
                x->kind == REPORTS_TEST_PP ? 0 : x->kind == REPORTS_TEST_OTHER ? 2 : 1);
        tmax = MB_MAX(tmax, x->t_start - t0);
        nc++;
    }
    if (!nc)
        fputs("0 ? 1\n", g);
    c.cells = nc > 0;
    c.tmax = MB_MAX(c.tmax, tmax);
    if (!c.temp && !c.freq) /* the flat "no sensors" line spans the run */
        fprintf(f, "0 ? ? ?\n%.3f ? ? ?\n", tmax > 0 ? tmax : 1.0);
    ch->has_data = c.temp || c.freq;
    snprintf(ch->caption, sizeof ch->caption,
             "Run %s: %zu sensor readings, %zu cells. %s", c.run, n, nc,
             c.temp || c.freq ? "Temperature is the hottest zone of each reading."
                              : "No sensors: the device exposes no thermal zone or frequency "
                                "readings, so the line is flat.");
    int rc = close_file(f, dir, "sensors.dat");
    if (close_file(g, dir, "sensors_tps.dat") && !rc)
        rc = MB_EIO;
    return rc ? rc : write_script(dir, "sensors", 1000, 720, body_sensors, &c);
}

/* ---- 4: roofline ------------------------------------------------------------------ */

static bool is_quantized(const char *recipe)
{
    return recipe[0] == 'Q' || recipe[0] == 'q' || !strncmp(recipe, "IQ", 2);
}

static void body_roof(FILE *f, const void *ctx)
{
    hist_xrange(f, ctx);
    fputs("set title 'Share of the measured ceilings'\nset style data histogram\n"
          "set style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
          "set grid ytics\nset yrange [0:*]\nset ylabel '% of ceiling'\n"
          "set xtics rotate by -30 left font ',8'\nset bmargin 6\nset key top right\n"
          "plot 'roofline.dat' using 2:xtic(1) title 'decode: weight bytes/s vs memory bandwidth' "
          "lc rgb '#f28e2b', '' using 3 title 'prefill: 2 x params flop/s vs int8/f32 peak' "
          "lc rgb '#4e79a7'\n",
          f);
}

static int chart_roofline(const mr_list_t *m, const reports_device_t *dev, const char *dir,
                          reports_chart_t *ch)
{
    snprintf(ch->name, sizeof ch->name, "roofline");
    snprintf(ch->title, sizeof ch->title, "Roofline: share of measured bandwidth and peaks");
    bool bw = dev && isfinite(dev->bw_gbs) && dev->bw_gbs > 0;
    bool pk = dev && ((isfinite(dev->peak_int8_gops) && dev->peak_int8_gops > 0) ||
                      (isfinite(dev->peak_f32_gflops) && dev->peak_f32_gflops > 0));
    FILE *f = open_in(dir, "roofline", ".dat");
    if (!f)
        return MB_EIO;
    fputs("# label decode_pct_of_bandwidth prefill_pct_of_peak\n", f);
    size_t rows = 0;
    for (size_t k = 0; k < m->n; k++) {
        const reports_cell_t *x = m->v[k].tg ? m->v[k].tg : m->v[k].pp;
        double dec = NAN, pre = NAN;
        /* The runner's figure (bytes actually read per token incl. KV, the
         * ceiling at the cell's thread count) wins; the estimate below is for
         * cells stored before roofline_pct existed. */
        if (m->v[k].tg && isfinite(m->v[k].tg->roofline_pct))
            dec = m->v[k].tg->roofline_pct;
        else if (bw && m->v[k].tg && x->model_bytes)
            dec = med(m->v[k].tg) * (double)x->model_bytes / 1e9 / dev->bw_gbs * 100.0;
        const reports_cell_t *p = m->v[k].pp;
        if (p && isfinite(p->roofline_pct)) {
            pre = p->roofline_pct;
        } else if (pk && p && p->n_params) {
            double peak = is_quantized(p->recipe) ? dev->peak_int8_gops : dev->peak_f32_gflops;
            if (isfinite(peak) && peak > 0)
                pre = med(p) * 2.0 * (double)p->n_params / 1e9 / peak * 100.0;
        }
        if (!isfinite(dec) && !isfinite(pre))
            continue;
        char lab[128];
        mr_label(&m->v[k], lab, sizeof lab);
        fprintf(f, "\"%s\"", lab);
        num(f, dec);
        num(f, pre);
        fputc('\n', f);
        rows++;
    }
    ch->has_data = rows > 0;
    if (!rows)
        fputs("\"none\" ? ?\n", f);
    if (bw || pk)
        snprintf(ch->caption, sizeof ch->caption,
                 "Each cell's stored roofline_pct (docs/OUTPUT.md: decode = bytes read per token "
                 "x tokens/s over the read bandwidth at the cell's thread count; prefill = 2 x "
                 "multiplied weights x tokens/s over the int8 or f32 peak). Cells stored without "
                 "it are estimated from model bytes against %.1f GB/s and 2 x params against "
                 "%.0f GOP/s int8 or %.0f GFLOP/s f32.",
                 dev->bw_gbs, dev->peak_int8_gops, dev->peak_f32_gflops);
    else if (rows)
        snprintf(ch->caption, sizeof ch->caption,
                 "Each cell's stored roofline_pct (docs/OUTPUT.md); the device row has no "
                 "ceilings of its own.");
    else
        snprintf(ch->caption, sizeof ch->caption,
                 "The device's ceilings were not measured: run 'mobench probe --roofline' before "
                 "the sweep to store them.");
    int rc = close_file(f, dir, "roofline.dat");
    if (rc)
        return rc;
    if (!rows) {
        static const char *const msg[2] = {"Roofline", "no ceilings measured on this device"};
        return write_script(dir, "roofline", 1000, 560, body_empty, msg);
    }
    return write_script(dir, "roofline", 1000, 560, body_roof, &rows);
}

/* ---- 5: nightly trend ------------------------------------------------------------- */

typedef struct {
    char label[128];
    const reports_cell_t **v; /* by run start */
    size_t n;
    size_t n_reg;             /* regressions against the previous run */
    bool *reg;                /* reg[j]: v[j] regressed against v[j - 1] */
} trend_key_t;

typedef struct {
    trend_key_t *k;
    size_t n;
    size_t n_reg;
    size_t n_hidden;          /* cells not drawn (listed under the chart) */
    bool logy;
    double tspan;             /* seconds from the first to the last point */
} trend_ctx_t;

/* Series styles: no colour twice (red is kept for the regression marks),
 * and a point type and dash pattern of its own, so series stay apart in
 * greyscale too. */
static const char *const TREND_COLOURS[MAX_TREND_KEYS] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8", "#98df8a",
};
static const int TREND_PT[MAX_TREND_KEYS] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13};

static void body_trend(FILE *f, const void *ctx)
{
    const trend_ctx_t *t = ctx;
    /* tic labels to the span: runs minutes apart need seconds, nightly
     * runs over weeks need no time of day */
    const char *xfmt = t->tspan < 7200 ? "%H:%M:%S" : t->tspan < 4 * 86400 ? "%m-%d\\n%H:%M"
                                                                           : "%Y-%m-%d";
    fprintf(f, "set title 'Tokens/s per cell over runs (red: regression vs the previous run)'\n"
               "set xdata time\nset timefmt '%%s'\nset format x \"%s\"\nset grid\n"
               "set xtics rotate by -30 font ',8'\nset key outside right top font ',8'\n",
            xfmt);
    fputs(t->logy ? "set logscale y\nset yrange [*:*]\nset ylabel 'tokens/s (median, log scale)'\n"
                  : "set yrange [0:*]\nset ylabel 'tokens/s (median)'\n", f);
    if (t->n_hidden)
        fprintf(f, "set label 1 \"%zu more cells not drawn:\\nlisted under the chart\" at "
                   "screen 0.985, screen 0.5 right font ',8'\n", t->n_hidden);
    fputs("plot ", f);
    for (size_t i = 0; i < t->n; i++)
        fprintf(f, "'trend.dat' index %zu using 1:2 with linespoints lw 1.5 dt %d pt %d ps 0.8 "
                   "lc rgb '%s' title '%s', \\\n     ",
                i, (int)(i % 3) + 1, TREND_PT[i], TREND_COLOURS[i], t->k[i].label);
    if (t->n_reg)
        fputs("'trend_reg.dat' using 1:2 with points pt 6 ps 2.5 lw 2 lc rgb '#d62728' "
              "title 'regressed'\n", f);
    else /* nothing to mark: a key entry says so instead of an empty file */
        fputs("NaN title 'no regression' with points pt 6 lc rgb '#d62728'\n", f);
}

static int cmp_cell_time(const void *a, const void *b)
{
    const reports_cell_t *x = *(const reports_cell_t *const *)a, *y = *(const reports_cell_t *const *)b;
    return (x->t_start > y->t_start) - (x->t_start < y->t_start);
}

static int chart_trend(const reports_data_t *d, const char *dev, const char *dir,
                       reports_chart_t *ch)
{
    snprintf(ch->name, sizeof ch->name, "trend");
    snprintf(ch->title, sizeof ch->title, "Nightly trend per cell");
    trend_key_t *keys = NULL;
    size_t nk = 0;
    int rc = 0;
    /* group cells by model, recipe, test, threads (linear scan over keys:
     * a sweep has tens of keys, the cells are many) */
    for (size_t i = 0; i < d->n_cells && !rc; i++) {
        const reports_cell_t *c = &d->cells[i];
        if (strcmp(c->device_id, dev) || strcmp(c->status, "ok") || !isfinite(med(c)))
            continue;
        char raw[160], lab[128];
        snprintf(raw, sizeof raw, "%s %s %s t%d", c->model, c->recipe, c->test, c->n_threads);
        reports_label(lab, sizeof lab, raw);
        trend_key_t *k = NULL;
        for (size_t j = nk; j-- > 0 && !k;)
            if (!strcmp(keys[j].label, lab))
                k = &keys[j];
        if (!k) {
            trend_key_t *p = realloc(keys, (nk + 1) * sizeof *p);
            if (!p) {
                rc = mb_err_set(MB_ENOMEM, "out of memory for the trend chart");
                break;
            }
            keys = p;
            k = &keys[nk++];
            memset(k, 0, sizeof *k);
            snprintf(k->label, sizeof k->label, "%s", lab);
        }
        if ((k->n & (k->n - 1)) == 0) { /* capacity doubles at powers of two */
            const reports_cell_t **p = realloc(k->v, (k->n ? k->n * 2 : 1) * sizeof *p);
            if (!p) {
                rc = mb_err_set(MB_ENOMEM, "out of memory for the trend chart");
                break;
            }
            k->v = p;
        }
        k->v[k->n++] = c;
    }
    FILE *f = rc ? NULL : open_in(dir, "trend", ".dat");
    FILE *g = f ? open_in(dir, "trend_reg", ".dat") : NULL;
    if (!f || !g) {
        if (f)
            fclose(f);
        rc = rc ? rc : MB_EIO;
        goto out;
    }
    reports_compare_opts_t co;
    reports_compare_opts_default(&co);
    co.n_boot = 200; /* marks only: the verdict needs the test, the CI just the threshold */
    for (size_t i = 0; i < nk && !rc; i++) {
        trend_key_t *k = &keys[i];
        qsort(k->v, k->n, sizeof *k->v, cmp_cell_time);
        if (!(k->reg = calloc(k->n, sizeof *k->reg))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory for the trend chart");
            break;
        }
        for (size_t j = 1; j < k->n; j++) {
            const reports_cell_t *a = k->v[j - 1], *b = k->v[j];
            reports_cmp_stat_t st;
            if (!strcmp(a->kernel, b->kernel) && !strcmp(a->weights_sha, b->weights_sha)) {
                reports_compare_samples(a->samples_ts, a->n_samples, b->samples_ts,
                                        b->n_samples, &co, &st);
                k->reg[j] = st.verdict == REPORTS_REGRESSED;
                k->n_reg += k->reg[j];
            }
        }
    }
    if (rc) {
        fclose(f);
        fclose(g);
        goto out;
    }
    /* drawn first: cells with a regression, then those with the most runs;
     * at most MAX_TREND_KEYS (stable: equal keys keep the data's order) */
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && ((keys[j].n_reg > 0) > (keys[j - 1].n_reg > 0) ||
                                     ((keys[j].n_reg > 0) == (keys[j - 1].n_reg > 0) &&
                                      keys[j].n > keys[j - 1].n));
             j--) {
            trend_key_t t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    size_t shown = MB_MIN(nk, (size_t)MAX_TREND_KEYS), n_reg = 0;
    double vmin = INFINITY, vmax = 0, tmin = INFINITY, tmax = -INFINITY;
    fputs("# blocks (gnuplot index) per cell: unix_time median_tokens_per_s\n", f);
    fputs("# regressions vs the previous run of the same cell: unix_time median\n", g);
    for (size_t i = 0; i < shown; i++) {
        trend_key_t *k = &keys[i];
        fprintf(f, "# %s\n", k->label);
        for (size_t j = 0; j < k->n; j++) {
            fprintf(f, "%.0f %.6g\n", k->v[j]->t_start, med(k->v[j]));
            if (med(k->v[j]) > 0) {
                vmin = MB_MIN(vmin, med(k->v[j]));
                vmax = MB_MAX(vmax, med(k->v[j]));
            }
            tmin = MB_MIN(tmin, k->v[j]->t_start);
            tmax = MB_MAX(tmax, k->v[j]->t_start);
            if (k->reg[j]) {
                fprintf(g, "%.0f %.6g\n", k->v[j]->t_start, med(k->v[j]));
                n_reg++;
            }
        }
        fputs("\n\n", f);
    }
    if (!n_reg)
        fputs("? ?\n", g);
    ch->has_data = shown > 0;
    bool logy = vmax > 20 * vmin;
    snprintf(ch->caption, sizeof ch->caption,
             "Median tokens/s of each cell over the runs in the selection (%zu of %zu cells "
             "drawn%s). A red circle marks a significant regression against the cell's previous "
             "run (Mann-Whitney, alpha 0.01, threshold 5%%): %zu in this view.%s",
             shown, nk, nk > shown ? ": those with a regression, then those with the most runs" : "",
             n_reg, logy ? " Log scale: the rates span more than 20x." : "");
    if (nk > shown) { /* the cells not drawn, by name, under the chart */
        char *buf = NULL;
        size_t len = 0;
        FILE *h = open_memstream(&buf, &len);
        if (h) {
            fprintf(h, "<p class=\"note\">Not drawn (%zu cells; no regression among them "
                       "unless marked): ", nk - shown);
            for (size_t i = shown; i < nk; i++) {
                fputs(i > shown ? ", " : "", h);
                reports_html_escape(h, keys[i].label);
                fprintf(h, " (%zu run%s%s)", keys[i].n, keys[i].n == 1 ? "" : "s",
                        keys[i].n_reg ? ", REGRESSED" : "");
            }
            fputs("</p>\n", h);
            if (fclose(h) == 0)
                ch->html = buf;
            else
                free(buf);
        }
    }
    rc = close_file(f, dir, "trend.dat");
    if (close_file(g, dir, "trend_reg.dat") && !rc)
        rc = MB_EIO;
    if (!rc) {
        if (shown) {
            trend_ctx_t t = {.k = keys, .n = shown, .n_reg = n_reg, .n_hidden = nk - shown,
                             .logy = logy, .tspan = tmax - tmin};
            rc = write_script(dir, "trend", 1000, 560, body_trend, &t);
        } else {
            static const char *const msg[2] = {"Trend", "no finished cells in this selection"};
            rc = write_script(dir, "trend", 1000, 560, body_empty, msg);
        }
    }
out:
    for (size_t i = 0; i < nk; i++) {
        free(keys[i].v);
        free(keys[i].reg);
    }
    free(keys);
    return rc;
}

/* ---- 6: device comparison ---------------------------------------------------------- */

typedef struct {
    size_t rows; /* first: hist_xrange reads it */
    int n_dev;
    bool logy;   /* rates spanning more than 20x */
    char names[MAX_DEVICES][64];
} devcmp_ctx_t;

static void body_devices(FILE *f, const void *ctx)
{
    const devcmp_ctx_t *c = ctx;
    hist_xrange(f, &c->rows);
    fputs("set title 'Decode tokens/s per device (newest tg cell)'\nset style data histogram\n"
          "set style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
          "set grid ytics\nset xtics rotate by -30 left font ',8'\nset bmargin 6\n"
          "set key top right\n", f);
    /* bars from the bottom of a log axis: a 2000 t/s test model and a 5 t/s
     * 3B model both stay readable */
    fputs(c->logy ? "set logscale y\nset yrange [*:*]\nset ylabel 'tokens/s (log scale)'\nplot "
                  : "set yrange [0:*]\nset ylabel 'tokens/s'\nplot ", f);
    for (int i = 0; i < c->n_dev; i++)
        fprintf(f, "%s'devices.dat' using %d%s title '%s'", i ? ", " : "", i + 2,
                i ? "" : ":xtic(1)", c->names[i]);
    fputc('\n', f);
}

static int chart_devices(const reports_data_t *d, const char *dir, reports_chart_t *ch, bool *written)
{
    *written = false;
    if (d->n_devices < 2)
        return 0;
    snprintf(ch->name, sizeof ch->name, "devices");
    snprintf(ch->title, sizeof ch->title, "Device comparison");
    devcmp_ctx_t c = {.n_dev = (int)MB_MIN(d->n_devices, (size_t)MAX_DEVICES)};
    mr_list_t lists[MAX_DEVICES];
    int rc = 0;
    for (int i = 0; i < c.n_dev; i++) {
        reports_label(c.names[i], sizeof c.names[i],
                      d->devices[i].name[0] ? d->devices[i].name : d->devices[i].id);
        if (!rc)
            rc = mr_collect(d, d->devices[i].id, &lists[i]);
        else
            memset(&lists[i], 0, sizeof lists[i]);
    }
    FILE *f = rc ? NULL : open_in(dir, "devices", ".dat");
    if (f) {
        fputs("# label tokens_per_s_per_device (columns in the order of the devices table)\n", f);
        /* rows: every model x recipe measured on any device */
        size_t rows = 0;
        double vmin = INFINITY, vmax = 0;
        for (int i = 0; i < c.n_dev; i++)
            for (size_t k = 0; k < lists[i].n; k++) {
                const reports_cell_t *x = lists[i].v[k].tg ? lists[i].v[k].tg : lists[i].v[k].pp;
                bool seen = false;
                for (int j = 0; j <= i && !seen; j++)
                    for (size_t m = 0; m < (j < i ? lists[j].n : k) && !seen; m++) {
                        const reports_cell_t *y = lists[j].v[m].tg ? lists[j].v[m].tg : lists[j].v[m].pp;
                        seen = !strcmp(x->model, y->model) && !strcmp(x->recipe, y->recipe);
                    }
                if (seen)
                    continue;
                char lab[128];
                mr_label(&lists[i].v[k], lab, sizeof lab);
                fprintf(f, "\"%s\"", lab);
                for (int j = 0; j < c.n_dev; j++) {
                    double v = NAN;
                    for (size_t m = 0; m < lists[j].n; m++) {
                        const reports_cell_t *y = lists[j].v[m].tg ? lists[j].v[m].tg : lists[j].v[m].pp;
                        if (!strcmp(x->model, y->model) && !strcmp(x->recipe, y->recipe))
                            v = med(lists[j].v[m].tg);
                    }
                    num(f, v);
                    if (v > 0) {
                        vmin = MB_MIN(vmin, v);
                        vmax = MB_MAX(vmax, v);
                    }
                }
                fputc('\n', f);
                rows++;
            }
        ch->has_data = rows > 0;
        c.rows = rows ? rows : 1;
        c.logy = vmax > 20 * vmin;
        rc = close_file(f, dir, "devices.dat");
    } else if (!rc) {
        rc = MB_EIO;
    }
    for (int i = 0; i < c.n_dev; i++)
        free(lists[i].v);
    if (rc)
        return rc;
    snprintf(ch->caption, sizeof ch->caption, "Newest decode rate of each model x recipe on each "
             "of the %d devices in the selection%s.%s", c.n_dev,
             d->n_devices > MAX_DEVICES ? " (first 8 shown)" : "",
             c.logy ? " Log scale: the rates span more than 20x." : "");
    *written = true;
    return write_script(dir, "devices", 1000, 560, body_devices, &c);
}

void reports_charts_free(reports_chart_t *charts)
{
    for (int i = 0; i < REPORTS_MAX_CHARTS; i++) {
        free(charts[i].html);
        charts[i].html = NULL;
    }
}

int reports_charts_write(const reports_data_t *d, const reports_classes_t *cl, const char *dir,
                         reports_chart_t *charts, int *n)
{
    *n = 0;
    memset(charts, 0, sizeof *charts * REPORTS_MAX_CHARTS);
    int main_dev = reports_main_device(d);
    const reports_device_t *dev = main_dev >= 0 ? &d->devices[main_dev] : NULL;
    const char *dev_id = dev ? dev->id : "";
    char devname[128];
    reports_label(devname, sizeof devname, dev ? (dev->name[0] ? dev->name : dev->id) : "no device");
    mr_list_t m;
    int rc = mr_collect(d, dev_id, &m);
    if (!rc)
        rc = chart_tps(&m, dir, &charts[(*n)++], devname);
    if (!rc)
        rc = chart_mq(d, cl, dir, dev_id, &charts[(*n)++]);
    if (!rc)
        rc = chart_sensors(d, dir, &charts[(*n)++]);
    if (!rc)
        rc = chart_roofline(&m, dev, dir, &charts[(*n)++]);
    if (!rc)
        rc = chart_trend(d, dev_id, dir, &charts[(*n)++]);
    bool written = false;
    if (!rc)
        rc = chart_devices(d, dir, &charts[*n], &written);
    if (written)
        (*n)++;
    free(m.v);
    return rc;
}
